/**
 * Start/stop stress for the Scheduler (issue 18 item 7). A Scheduler is started once and stopped once:
 * stop before start, stop twice, and stop while start is still joining the cluster must all leave
 * nothing running and the replica checked out. Each cycle is a fresh scheduler on real PostgreSQL, so
 * the count is kept modest; LoopService and ServiceLifecycle carry the 1,000-cycle stress in unit tests.
 */
import { sql } from 'kysely';
import { expect, it } from 'vitest';
import { testScheduler } from '../support/scheduler.js';
import { useTestSchema } from '../support/schema.js';

const database = useTestSchema();

async function instanceState(id: string): Promise<string | undefined> {
  const { rows } = await sql<{ state: string }>`
    SELECT state FROM ${sql.table(`${database.schema}.instances`)} WHERE id = ${id}`.execute(database.db);
  return rows[0]?.state;
}

it('stop before start and stop twice resolve, and share one promise', async () => {
  const scheduler = testScheduler(database);
  const first = scheduler.stop();
  expect(scheduler.stop()).toBe(first);
  await first;
});

it('stress: 100 schedulers stopped at random points of their start leave no replica active, no lease held', async () => {
  let seed = 3;
  const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
  for (let cycle = 0; cycle < 100; cycle += 1) {
    const scheduler = testScheduler(database, { shutdownTimeoutMs: 1_000 });
    const stopped = scheduler.events.once('scheduler:stopped');
    const starting = scheduler.start().catch(() => {});
    // Stop at once, after some turns of the event loop, or once started.
    const when = random();
    if (when < 0.33) await Promise.resolve();
    else if (when < 0.66) await new Promise((resolve) => setTimeout(resolve, Math.floor(random() * 20)));
    else await starting;
    await Promise.all([scheduler.stop(), scheduler.stop(), starting]);
    await stopped;
    const state = await instanceState(scheduler.instanceId);
    expect(state === undefined || state === 'stopped', `cycle ${cycle}: ${state}`).toBe(true);
  }
  const { rows } = await sql<{ holder: string | null }>`
    SELECT holder FROM ${sql.table(`${database.schema}.leader`)}`.execute(database.db);
  expect(rows.every((row) => row.holder === null)).toBe(true);
});
