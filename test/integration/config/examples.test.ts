import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { applyDefinitions } from '../../../src/config/definition-reconciler.js';
import { prepareStartDefinitions } from '../../../src/config/start-definitions.js';
import type { JobContext } from '../../../src/jobs/job.js';
import { createTestDatabase, dropTestDatabase } from '../../support/schema.js';
import { testScheduler, waitForEvents } from '../../support/scheduler.js';

describe('examples/belfry.yaml (the npm start demo)', () => {
  it('loads, registers its job classes, reconciles and fires', async () => {
    const prepared = await prepareStartDefinitions(['examples/belfry.yaml']);
    if (!prepared.ok) throw new Error(prepared.errors.join('\n'));
    const database = await createTestDatabase();
    const scheduler = testScheduler(database, { compileSchedule: prepared.compileSchedule });
    try {
      await prepared.register(scheduler);
      expect(scheduler.registry.names()).toEqual(['flaky-report', 'heartbeat', 'sampler']);
      await prepared.reconcile(scheduler, pino({ level: 'silent' }));
      // Reconciling again (another replica starting) changes nothing.
      const again = await applyDefinitions(scheduler.executor, prepared.definitions);
      expect(again.entries.every((entry) => entry.action === 'unchanged')).toBe(true);
      const fired = waitForEvents(
        scheduler,
        'execution:finished',
        2,
        (event) => event.job === 'heartbeat' || event.job === 'sampler',
        15_000,
      );
      await scheduler.start();
      const events = await fired;
      expect(events.every((event) => event.status === 'succeeded')).toBe(true);
    } finally {
      await scheduler.stop();
      await dropTestDatabase(database);
    }
  });

  it('has a job that fails on attempts 1 and 2 and succeeds on 3', async () => {
    const { default: FlakyReportJob } = await import('../../../examples/jobs/flaky-report.js');
    const run = (attempt: number) =>
      new FlakyReportJob().execute({
        fire: { attempt },
        signal: new AbortController().signal,
        logger: pino({ level: 'silent' }),
      } as unknown as JobContext);
    await expect(run(1)).rejects.toThrow('attempt 1');
    await expect(run(2)).rejects.toThrow('attempt 2');
    await expect(run(3)).resolves.toEqual({ attempts: 3 });
  });
});
