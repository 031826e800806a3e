/**
 * An idle tick's answer ("how long until anything is due?") must not cost more with more triggers
 * defined (issue #16: 1,000,000 triggers, acquisition cost the same as with 1,000). With the paused-job
 * check, `min(next_fire_at)` was an aggregate over every waiting trigger: a sequential scan, 0.8 s at
 * 1,000,000. The ordered walk of triggers_due stops at the first trigger of an unpaused job.
 */
import { Kysely, PostgresDialect } from 'kysely';
import { beforeAll, describe, expect, it } from 'vitest';
import { insertBenchTriggers } from '../../../bench/support/belfry-db.js';
import { jobRecordFromOptions } from '../../../src/jobs/job-record.js';
import { upsertJob } from '../../../src/store/definition-store.js';
import { inTransaction } from '../../../src/store/executor.js';
import { lockDueTriggers, nextDueDelayMs } from '../../../src/store/fire-store.js';
import type { Database } from '../../../src/store/tables.js';
import { useTestSchema } from '../../support/schema.js';

const TRIGGERS = 50_000;
const DAY = 86_400_000;
const INSTANCE = '00000000-0000-0000-0000-000000000001';
const database = useTestSchema();

/** Runs `work` and returns the last statement it sent, with its parameters. */
async function lastStatement(work: (ex: { db: Kysely<Database>; schema: string }) => Promise<unknown>) {
  let last: { sql: string; parameters: readonly unknown[] } | undefined;
  const db = new Kysely<Database>({
    dialect: new PostgresDialect({ pool: database.pool }),
    log: (event) => {
      if (!/^(begin|commit|rollback)/i.test(event.query.sql.trim())) last = event.query;
    },
  }).withSchema(database.schema);
  await work({ db, schema: database.schema });
  return last!;
}

/** Buffers the statement touches, and whether it scans the whole triggers table. */
async function costOf(statement: { sql: string; parameters: readonly unknown[] }) {
  const client = await database.pool.connect();
  try {
    await client.query('BEGIN');
    const { rows } = await client.query<{ 'QUERY PLAN': string }>(
      `EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) ${statement.sql}`,
      statement.parameters as unknown[],
    );
    const plan = rows.map((row) => row['QUERY PLAN']).join('\n');
    const buffers = [...plan.matchAll(/Buffers: shared(?: hit=(\d+))?(?: read=(\d+))?/g)].map(
      (m) => Number(m[1] ?? 0) + Number(m[2] ?? 0),
    );
    // The top node's Buffers line sums its children's.
    return { plan, buffers: buffers[0] ?? 0 };
  } finally {
    await client.query('ROLLBACK');
    client.release();
  }
}

beforeAll(async () => {
  const ex = { db: database.db, schema: database.schema };
  await upsertJob(ex, jobRecordFromOptions('noop', {}, 'test'));
  await database.pool.query(
    `INSERT INTO "${database.schema}".instances (id, name, host, pid, version, lock_key)
     VALUES ('${INSTANCE}', 'p', 'h', 1, 'x', 1)`,
  );
  // Waiting triggers, first due a day from now, spread over that day; none due during the test.
  const firstAt = Date.now() + DAY;
  await insertBenchTriggers(database.pool, database.schema, {
    group: 'defined',
    job: 'noop',
    triggers: Array.from({ length: TRIGGERS }, (_, i) => ({
      name: `defined-${i}`,
      kind: 'interval' as const,
      everyMs: DAY,
      anchorMs: firstAt + i * 1_000,
      firstAt: firstAt + i * 1_000,
    })),
  });
  await database.pool.query(`ANALYZE "${database.schema}".triggers`);
}, 60_000);

describe(`with ${TRIGGERS} waiting triggers, none due`, () => {
  it('nextDueDelayMs walks the due index instead of scanning every trigger', async () => {
    const ex = { db: database.db, schema: database.schema };
    const delay = await nextDueDelayMs(ex, { jobs: ['noop'] });
    expect(delay).toBeGreaterThan(DAY - 60_000);
    expect(delay).toBeLessThan(DAY + 60_000);
    const { plan, buffers } = await costOf(await lastStatement((e) => nextDueDelayMs(e, { jobs: ['noop'] })));
    expect(plan).not.toMatch(/Seq Scan on triggers/);
    expect(buffers).toBeLessThan(100);
  });

  it("an idle acquisition's lock statement answers the delay as cheaply", async () => {
    const statement = await lastStatement((e) =>
      inTransaction(e, (tx) => lockDueTriggers(tx, { instanceId: INSTANCE, jobs: ['noop'], limit: 200 })),
    );
    const { plan, buffers } = await costOf(statement);
    expect(plan).not.toMatch(/Seq Scan on triggers/);
    expect(buffers).toBeLessThan(200);
  });
});
