import { describe, expect, it } from 'vitest';
import { createTestCluster } from '../../../src/testing/test-cluster.js';
import { inTransaction } from '../../../src/store/executor.js';
import {
  dropTestSchema,
  explainTimeRead,
  installTestClock,
  readDatabaseTime,
  moveTestClock,
} from '../../../src/store/test-clock-store.js';
import { systemClock } from '../../../src/time/clock.js';
import { testDatabaseUrl, useTestSchema } from '../../support/schema.js';

const DAY = 86_400_000;

describe('the schema clock (migration 0010)', () => {
  const production = useTestSchema();
  const testMode = useTestSchema();

  it('is plain now() in a migrated schema: the planner inlines belfry_now()', async () => {
    const ex = { db: production.db, schema: production.schema };
    const plan = await explainTimeRead(ex);
    expect(plan).toMatch(/Output: now\(\)/);
    expect(plan).not.toMatch(/belfry_now/);
    const drift = (await readDatabaseTime(ex)).getTime() - systemClock.now().getTime();
    expect(Math.abs(drift)).toBeLessThan(5_000);
  });

  it('refuses the test clock in a schema that ever ran a replica, and is never dropped by the kit', async () => {
    const ex = { db: production.db, schema: production.schema };
    await production.pool.query(
      `INSERT INTO "${production.schema}".instances (id, name, host, pid, version, lock_key)
       VALUES ('00000000-0000-0000-0000-000000000001', 'r', 'h', 1, 'x', 1)`,
    );
    await expect(installTestClock(ex)).rejects.toMatchObject({ code: 'BELFRY_ERR_TEST_CLOCK' });
    expect(await dropTestSchema(ex)).toBe(false);
    expect(await explainTimeRead(ex)).not.toMatch(/test_clock/);
  });

  it('in test mode, adds the offset for every statement and transaction, and only moves forward', async () => {
    const ex = { db: testMode.db, schema: testMode.schema };
    await installTestClock(ex);
    await installTestClock(ex); // idempotent
    await moveTestClock(ex, { at: new Date(systemClock.now().getTime() + 30 * DAY) });
    const moved = (await readDatabaseTime(ex)).getTime() - systemClock.now().getTime();
    expect(moved).toBeGreaterThan(30 * DAY - 5_000);
    expect(moved).toBeLessThan(30 * DAY + 5_000);
    // Column defaults follow it too (a fire's fired_at, an instance's first check-in).
    const { rows } = await testMode.pool.query<{ started: Date }>(
      `INSERT INTO "${testMode.schema}".instances (id, name, host, pid, version, lock_key)
       VALUES ('00000000-0000-0000-0000-000000000002', 'r', 'h', 1, 'x', 2) RETURNING started_at AS started`,
    );
    expect(rows[0]!.started.getTime() - systemClock.now().getTime()).toBeGreaterThan(29 * DAY);
    await inTransaction(ex, async (tx) => {
      expect((await readDatabaseTime(tx)).getTime()).toBeGreaterThan(systemClock.now().getTime() + 29 * DAY);
    });
    await expect(
      moveTestClock(ex, { at: new Date(systemClock.now().getTime() + DAY) }),
    ).rejects.toMatchObject({
      code: 'BELFRY_ERR_TEST_CLOCK',
    });
    // Not inlined in test mode (its body reads the offset table): tests pay for the indirection, not production.
    expect(await explainTimeRead(ex)).toMatch(/belfry_now\(\)/);
  });
});

describe('createTestCluster', () => {
  it('refuses to move back, and cleans up its schema at stop (twice is fine)', async () => {
    const cluster = await createTestCluster({ database: testDatabaseUrl(), start: '2030-01-01T00:00:00Z' });
    const db = await cluster.databaseTime();
    expect(db.getTime()).toBeGreaterThanOrEqual(new Date('2030-01-01T00:00:00Z').getTime());
    expect(db.getTime()).toBeLessThan(new Date('2030-01-01T00:01:00Z').getTime());
    await cluster.advanceBy('1h');
    expect(cluster.now().getTime()).toBeGreaterThanOrEqual(new Date('2030-01-01T01:00:00Z').getTime());
    await expect(cluster.advanceTo('2030-01-01T00:30:00Z')).rejects.toMatchObject({
      code: 'BELFRY_ERR_TEST_CLOCK',
    });
    await cluster.stop();
    await cluster.stop();
  });
});
