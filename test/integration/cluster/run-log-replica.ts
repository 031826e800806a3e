/**
 * A replica process for stalled-replica.test.ts: job `logged` appends one run line per handler start to
 * RUN_LOG (src/audit/run-log.ts) first thing, before any work. Acquires up to FIRE_AHEAD_MS ahead, so a
 * replica stopped at any moment holds fires that are acquired but not yet started. Prints lifecycle events
 * as JSON lines on stdout (test/support/cluster.ts reads them); stops gracefully on SIGTERM.
 */
import { appendFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { createScheduler } from '../../../src/scheduler.js';
import type { JobContext } from '../../../src/jobs/job.js';
import { formatRunLine } from '../../../src/audit/run-log.js';

const env = process.env;

class LoggedJob {
  async execute(ctx: JobContext) {
    appendFileSync(
      env.RUN_LOG!,
      formatRunLine({
        trigger: ctx.fire.trigger,
        scheduledAt: ctx.fire.scheduledAt,
        attempt: ctx.fire.attempt,
        executionId: ctx.fire.executionId,
        instanceId: scheduler.instanceId,
        pid: process.pid,
        wallTime: new Date(),
      }),
      { flag: 'a' },
    );
    await sleep(50, undefined, { signal: ctx.signal }).catch(() => {});
  }
}

const scheduler = createScheduler({
  connectionString: env.DATABASE_URL!,
  schema: env.BELFRY_SCHEMA,
  instanceName: env.BELFRY_INSTANCE_NAME,
  concurrency: Number(env.REPLICA_CONCURRENCY ?? 50),
  timings: env.REPLICA_TIMINGS ? JSON.parse(env.REPLICA_TIMINGS) : undefined,
  fireAheadMs: Number(env.FIRE_AHEAD_MS ?? 20),
  shutdownTimeoutMs: 2_000,
  maxIdleMs: 2_000,
});
scheduler.registerJob('logged', LoggedJob);

const emit = (event: string, extra: Record<string, unknown> = {}) =>
  process.stdout.write(`${JSON.stringify({ event, instance: scheduler.instanceId, ...extra })}\n`);
scheduler.on('execution:started', (e) => emit('execution:started', { executionId: e.executionId }));
scheduler.on('execution:released', (e) => emit('execution:released', { executionId: e.executionId }));
scheduler.on('instance:fenced', (e) => emit('instance:fenced', { deadId: e.instanceId }));

process.on('SIGTERM', () => {
  void scheduler.stop().then(() => process.exit(0));
});
await scheduler.start();
emit('started');
