/**
 * stop() is bounded even when the database will not let the replica resign or check out: here its lease
 * and instance rows are held by another session's open transaction (what a replica stalled
 * mid-transaction does), so every check-in, resignation and check-out waits on a row lock.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { BelfryDatabase } from '../../../src/store/database.js';
import { createTestDatabase, dropTestDatabase } from '../../support/schema.js';
import { testScheduler, waitForEvents } from '../../support/scheduler.js';

let database: BelfryDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await dropTestDatabase(database);
});

/**
 * The steps stop() gave up on still run once the rows are free (a query cannot be taken back); wait until
 * none holds a pooled connection, so they do not race the schema's drop.
 */
async function abandonedWorkFinished(): Promise<void> {
  const busy = () => database.pool.totalCount - database.pool.idleCount;
  for (let quiet = 0, polls = 0; quiet < 3 && polls < 200; polls += 1) {
    quiet = busy() === 0 ? quiet + 1 : 0;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

it('stop() resigns and checks out within its budget, or gives up on them, when their rows are locked', async () => {
  const scheduler = testScheduler(database, { instanceName: 'locked-out' });
  const elected = waitForEvents(scheduler, 'leader:elected', 1);
  await scheduler.start();
  await elected;

  const blocker = await database.pool.connect();
  try {
    await blocker.query('BEGIN');
    await blocker.query(`SELECT 1 FROM "${database.schema}".leader FOR UPDATE`);
    await blocker.query(`SELECT 1 FROM "${database.schema}".instances WHERE id = $1 FOR UPDATE`, [
      scheduler.instanceId,
    ]);

    const started = performance.now();
    // Nothing runs, so the drain is instant; then checkOutBudgetMs(1 s) = 1 s for outcomes,
    // resignation, check-out and closing the session.
    await scheduler.stop({ timeoutMs: 1_000 });
    const tookMs = performance.now() - started;

    expect(scheduler.state).toBe('stopped');
    expect(tookMs).toBeLessThan(3_500);
  } finally {
    await blocker.query('ROLLBACK');
    blocker.release();
  }
  await abandonedWorkFinished();
}, 60_000);
