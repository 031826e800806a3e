/**
 * A scheduler that opens its own pool ends a transaction left idle (its replica frozen mid-transaction)
 * after deadAfterMs, not after a fixed 30 s: its trigger and instance row locks are free by the time
 * the leader may declare it dead.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createScheduler } from '../../../src/scheduler.js';
import type { BelfryDatabase } from '../../../src/store/database.js';
import { createTestDatabase, dropTestDatabase } from '../../support/schema.js';

let database: BelfryDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await dropTestDatabase(database);
});

async function idleInTransactionTimeout(deadAfterMs?: number): Promise<string> {
  const scheduler = createScheduler({
    connectionString: database.connectionString,
    schema: database.schema,
    migrate: false,
    timings: deadAfterMs === undefined ? undefined : { deadAfterMs },
  });
  try {
    const { rows } = await scheduler.database.pool.query<{ idle_in_transaction_session_timeout: string }>(
      'SHOW idle_in_transaction_session_timeout',
    );
    return rows[0]!.idle_in_transaction_session_timeout;
  } finally {
    await scheduler.stop();
  }
}

it('is deadAfterMs (default 10 s), and never below 5 s', async () => {
  expect(await idleInTransactionTimeout()).toBe('10s');
  expect(await idleInTransactionTimeout(7_000)).toBe('7s');
  expect(await idleInTransactionTimeout(1_000)).toBe('5s');
});
