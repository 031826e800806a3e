/**
 * The acquisition statement (issue #16): one round trip locks the replans and then the due triggers,
 * walking triggers_due in fire-time order whatever the statistics say, so its cost is O(batch) with a
 * backlog of 20,000 due one-offs on a table that filled in seconds; and an idle acquisition answers how
 * long to sleep from the same statement.
 */
import { randomUUID } from 'node:crypto';
import { Kysely, PostgresDialect, sql } from 'kysely';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Executor } from '../../../src/store/executor.js';
import pino from 'pino';
import { advanceOf, fireOf, planTrigger } from '../../../src/engine/fire-planner.js';
import type { ExecutorPool } from '../../../src/engine/executor-pool.js';
import { SchedulerEventBus } from '../../../src/events/scheduler-events.js';
import { TriggerAcquirer } from '../../../src/engine/trigger-acquirer.js';
import { lockDueTriggers, nextDueDelayMs, recordFires } from '../../../src/store/fire-store.js';
import { compileSchedule, type ScheduleSpec } from '../../../src/time/schedule.js';
import type { Database } from '../../../src/store/tables.js';
import { defineJob, defineTrigger } from '../../support/fixtures.js';
import { useTestSchema } from '../../support/schema.js';

const database = useTestSchema();
let instanceId: string;
const ex = (): Executor => ({ db: database.db, schema: database.schema });
const table = (name: string) => sql.table(`${database.schema}.${name}`);

beforeAll(async () => {
  instanceId = randomUUID();
  await sql`INSERT INTO ${table('instances')} (id, name, host, pid, version, lock_key)
            VALUES (${instanceId}, 'test', 'h', 1, 'x', nextval(${`${database.schema}.instance_lock_key`}::regclass))`.execute(
    database.db,
  );
});
afterEach(async () => {
  await sql`TRUNCATE ${table('fires')}, ${table('executions')}, ${table('triggers')}, ${table('jobs')} CASCADE`.execute(
    database.db,
  );
});

/** `count` one-off triggers due at `at`, in one statement, with no ANALYZE afterwards (stale statistics). */
async function addDueOneOffs(count: number, at: Date, priority = 5): Promise<void> {
  await sql`INSERT INTO ${table('triggers')} (name, job_name, kind, spec, state, next_fire_at, max_fires, priority, source)
            SELECT 'once.' || gen_random_uuid(), 'work', 'once', jsonb_build_object('kind', 'once', 'at', to_json(at)),
                   'waiting', at, 1, ${priority}, 'api'
              FROM (SELECT ${at}::timestamptz AS at) s, generate_series(1, ${count})`.execute(database.db);
}

async function secondsAgo(seconds: number): Promise<Date> {
  const { rows } = await sql<{ at: Date }>`SELECT now() - ${seconds} * interval '1 second' AS at`.execute(
    database.db,
  );
  return rows[0]!.at;
}

interface Statement {
  sql: string;
  parameters: readonly unknown[];
}

/** Runs `work` in a rolled-back transaction on a Kysely that records each statement it sends. */
async function recorded<T>(
  work: (tx: Executor) => Promise<T>,
): Promise<{ result: T; statements: Statement[] }> {
  const statements: Statement[] = [];
  const logged = new Kysely<Database>({
    dialect: new PostgresDialect({ pool: database.pool }),
    // BEGIN and ROLLBACK are the transaction's own; only what the work sends is counted.
    log: (event) => {
      if (!/^(begin|rollback)$/i.test(event.query.sql)) statements.push(event.query);
    },
  });
  let result: T | undefined;
  await logged
    .transaction()
    .execute(async (trx) => {
      result = await work({ db: trx, schema: database.schema });
      throw new RolledBack();
    })
    .catch((error: unknown) => {
      if (!(error instanceof RolledBack)) throw error;
    });
  return { result: result as T, statements };
}
class RolledBack extends Error {}

/** The EXPLAIN ANALYZE lines of one statement, run and rolled back. */
async function explain(statement: Statement): Promise<string[]> {
  const client = await database.pool.connect();
  try {
    await client.query('BEGIN');
    const { rows } = await client.query<{ 'QUERY PLAN': string }>(
      `EXPLAIN (ANALYZE, BUFFERS) ${statement.sql}`,
      statement.parameters as unknown[],
    );
    await client.query('ROLLBACK');
    return rows.map((row) => row['QUERY PLAN']);
  } finally {
    client.release();
  }
}

/** Shared buffer hits of one statement, its functions' bodies included. */
async function bufferHits(statement: Statement): Promise<number> {
  const top = (await explain(statement)).find((line) => line.includes('Buffers:')) ?? '';
  return Number(/shared hit=(\d+)/.exec(top)?.[1] ?? 0);
}

describe('the acquisition statement', () => {
  it('locks in one round trip, walking the due index in order: O(batch) with 20,000 due on stale statistics', async () => {
    await defineJob(ex(), 'work');
    await addDueOneOffs(20_000, await secondsAgo(1));
    const { result, statements } = await recorded((tx) =>
      lockDueTriggers(tx, { instanceId, jobs: ['work'], limit: 10 }),
    );
    expect(result.triggers).toHaveLength(10);
    expect(statements).toHaveLength(1);
    // A sort or bitmap plan joins and sorts every due row: about 40,000 buffer hits here. The ordered walk
    // reads a few index and heap pages.
    const hits = await bufferHits(statements[0]!);
    expect(hits).toBeGreaterThan(0);
    expect(hits).toBeLessThan(2_000);
  });

  it('takes replans first, then due triggers by fire time and, within a time, by priority', async () => {
    await defineJob(ex(), 'work');
    await addDueOneOffs(3, await secondsAgo(3), 1);
    const twoSecondsAgo = await secondsAgo(2);
    await addDueOneOffs(2, twoSecondsAgo, 1);
    await addDueOneOffs(2, twoSecondsAgo, 9);
    const later = await defineTrigger(
      ex(),
      { name: 'changed', job: 'work', spec: { kind: 'interval', everyMs: 3_600_000 } },
      new Date(Date.UTC(2099, 0, 1)),
    );
    await sql`UPDATE ${table('triggers')} SET replan_at = now() WHERE id = ${later}`.execute(database.db);
    const { result } = await recorded((tx) => lockDueTriggers(tx, { instanceId, jobs: ['work'], limit: 6 }));
    const { rows } = await sql<{ id: string; priority: number; next_fire_at: Date }>`
      SELECT id, priority, next_fire_at FROM ${table('triggers')}`.execute(database.db);
    const byId = new Map(rows.map((row) => [row.id, row]));
    const order = result.triggers.map((t) => `${t.name === 'changed' ? 'replan' : byId.get(t.id)!.priority}`);
    expect(order).toEqual(['replan', '1', '1', '1', '9', '9']);
  });

  it('answers, when it locks nothing, how long until something is due (as nextDueDelayMs does)', async () => {
    await defineJob(ex(), 'work');
    const { result: none } = await recorded((tx) =>
      lockDueTriggers(tx, { instanceId, jobs: ['work'], limit: 10 }),
    );
    expect(none).toEqual({ triggers: [], idleDelayMs: null });

    const at = (await sql<{ at: Date }>`SELECT now() + interval '1 hour' AS at`.execute(database.db)).rows[0]!
      .at;
    const id = await defineTrigger(
      ex(),
      { name: 'hourly', job: 'work', spec: { kind: 'interval', everyMs: 3_600_000 } },
      at,
    );
    const { result: idle, statements } = await recorded((tx) =>
      lockDueTriggers(tx, { instanceId, jobs: ['work'], limit: 10 }),
    );
    expect(statements).toHaveLength(1);
    expect(idle.triggers).toEqual([]);
    const expected = (await nextDueDelayMs(ex(), { jobs: ['work'] }))!;
    expect(idle.idleDelayMs).toBeGreaterThan(3_500_000);
    expect(Math.abs(idle.idleDelayMs! - expected)).toBeLessThan(60_000);

    // A replan of a paused job's trigger is not due: no acquisition spin on it.
    await sql`UPDATE ${table('triggers')} SET replan_at = now() WHERE id = ${id}`.execute(database.db);
    await sql`UPDATE ${table('jobs')} SET paused = true WHERE name = 'work'`.execute(database.db);
    expect(
      (await recorded((tx) => lockDueTriggers(tx, { instanceId, jobs: ['work'], limit: 10 }))).result,
    ).toEqual({ triggers: [], idleDelayMs: null });
  });

  it('records a batch of 500 fires without pairing every fire with every execution in the database', async () => {
    await defineJob(ex(), 'work');
    await addDueOneOffs(500, await secondsAgo(1));
    // Statistics as autovacuum leaves them once the table has settled: a version match looks rare to
    // the planner, so it expects a row or two from each CTE.
    await sql`ANALYZE ${table('triggers')}`.execute(database.db);
    const { result, statements } = await recorded(async (tx) => {
      const { triggers } = await lockDueTriggers(tx, { instanceId, jobs: ['work'], limit: 500 });
      const advances = [];
      const fires = [];
      for (const trigger of triggers) {
        const plan = planTrigger(trigger, compileSchedule(trigger.spec as ScheduleSpec), trigger.dbNow);
        advances.push(advanceOf(trigger, plan));
        fires.push(...plan.fires.map((planned) => fireOf(trigger, planned, null)));
      }
      return recordFires(tx, { instanceId, advances, fires });
    });
    expect(result).toHaveLength(500);
    expect(new Set(result.map((fire) => fire.executionId)).size).toBe(500);
    for (const fire of result) expect(fire.scheduledAt).toBeInstanceOf(Date);
    // A join of the fires and executions CTEs, planned on their one-row estimates, was a nested loop
    // that compared 500 × 500 pairs.
    const plan = await explain(statements.at(-1)!);
    const compared = plan
      .map((line) => Number(/Rows Removed by Join Filter: (\d+)/.exec(line)?.[1] ?? 0))
      .reduce((a, b) => a + b, 0);
    expect(compared).toBeLessThan(1_000);
  });

  it('an idle tick with nothing scheduled is BEGIN, the lock and COMMIT: no claim, no second look', async () => {
    await defineJob(ex(), 'work');
    const sent: string[] = [];
    const logged = new Kysely<Database>({
      dialect: new PostgresDialect({ pool: database.pool }),
      log: (event) => void sent.push(event.query.sql),
    });
    const acquirer = new TriggerAcquirer({
      executor: { db: logged, schema: database.schema },
      pool: { freeSlots: 10, run: () => {} } as unknown as ExecutorPool,
      events: new SchedulerEventBus(),
      logger: pino({ level: 'silent' }),
      instanceId: () => instanceId,
      jobNames: () => ['work'],
      batchSize: 500,
      maxIdleMs: 10_000,
    });
    const result = await acquirer.tick();
    expect(result).toEqual({ fired: 0, claimed: 0, waitMs: 10_000 });
    expect(sent).toHaveLength(3);
  });
});
