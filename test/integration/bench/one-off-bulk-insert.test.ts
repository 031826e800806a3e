/**
 * The bench enqueues Belfry's many-job workloads with one bulk statement (bench/support/belfry-db.ts)
 * instead of N `insertOneOffTrigger` calls. The comparison with the peers is only fair while those rows
 * are the ones `fireNow`/`scheduleAt` write: this test fails when the two drift apart.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { insertOneOffTriggers } from '../../../bench/support/belfry-db.js';
import { jobRecordFromOptions } from '../../../src/jobs/job-record.js';
import { insertOneOffTrigger, upsertJob } from '../../../src/store/definition-store.js';
import { useTestSchema } from '../../support/schema.js';

const database = useTestSchema();

beforeAll(async () => {
  await upsertJob({ db: database.db, schema: database.schema }, jobRecordFromOptions('noop', {}, 'test'));
});

/** Every column of the group's triggers except those that differ by design (identity, name, times). */
async function rowsOf(group: string): Promise<Record<string, unknown>[]> {
  const { rows } = await database.pool.query<Record<string, unknown>>(
    `SELECT * FROM "${database.schema}".triggers WHERE group_name = $1 ORDER BY id`,
    [group],
  );
  return rows.map((row) => {
    const { id, name, created_at, updated_at, group_name, ...rest } = row;
    void [id, created_at, updated_at, group_name];
    expect(name).toMatch(/^noop\.once\.[0-9a-f-]{36}$/);
    return rest;
  });
}

describe('insertOneOffTriggers (bench)', () => {
  it('writes the same rows as insertOneOffTrigger, due at an instant and due now', async () => {
    const ex = { db: database.db, schema: database.schema };
    const at = new Date('2031-05-06T07:08:09.000Z');
    const data = { g: 'x', dueAt: 1 };
    await insertOneOffTrigger(ex, {
      name: `noop.once.${crypto.randomUUID()}`,
      job: 'noop',
      group: 'one',
      at,
      data,
    });
    await insertOneOffTriggers(database.pool, database.schema, {
      group: 'bulk',
      job: 'noop',
      at,
      data: [data, data],
    });
    const one = await rowsOf('one');
    const bulk = await rowsOf('bulk');
    expect(bulk).toHaveLength(2);
    expect(bulk[0]).toEqual(one[0]);
    expect(bulk[1]).toEqual(one[0]);

    // Due now: the database's now() stands in for `at`, in the spec as in next_fire_at.
    await insertOneOffTriggers(database.pool, database.schema, {
      group: 'now',
      job: 'noop',
      at: null,
      data: [data],
    });
    const { rows } = await database.pool.query<{ same: boolean }>(
      `SELECT (spec->>'at')::timestamptz = next_fire_at AND next_fire_at <= now() AS same
         FROM "${database.schema}".triggers WHERE group_name = 'now'`,
    );
    expect(rows).toEqual([{ same: true }]);
  });
});
