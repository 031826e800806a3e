/**
 * The weekly partitions of the history (migrations/0011, docs/decisions/0011-partitioned-history.md) on
 * real PostgreSQL: the layout, exactly-once keys that stay global, retention as a partition drop, the
 * upkeep of the weeks ahead, the hot path touching one partition, and the upgrade of an existing history.
 */
import { randomUUID } from 'node:crypto';
import { Kysely, PostgresDialect, sql, type CompiledQuery } from 'kysely';
import pino from 'pino';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { HistoryPruner } from '../../src/cluster/history-pruner.js';
import { claimPendingExecutions, completeExecutions } from '../../src/store/execution-store.js';
import { inTransaction, type Executor } from '../../src/store/executor.js';
import { registerInstance } from '../../src/store/instance-store.js';
import { acquireOrRenewLease } from '../../src/store/leader-store.js';
import { lockNamespace } from '../../src/store/lock-keys.js';
import { loadMigrations, migrate } from '../../src/store/migrator.js';
import { ensureHistoryPartitions } from '../../src/store/partition-store.js';
import type { Database } from '../../src/store/tables.js';
import { defineJob, defineTrigger } from '../support/fixtures.js';
import { createTestDatabase, dropTestDatabase, useTestSchema } from '../support/schema.js';
import { defineAfterTrigger } from './operations/after-trigger.js';

const DAY = 86_400_000;
const WEEK = 7 * DAY;
const database = useTestSchema();
let ex: Executor;
let leaderId: string;
let epoch: number;
let triggerId: string;

const t = (name: string) => sql.table(`${ex.schema}.${name}`);

/** Monday 00:00 UTC of the week holding `at`. */
function monday(at: Date): Date {
  const day = new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate()));
  return new Date(day.getTime() - ((day.getUTCDay() + 6) % 7) * DAY);
}
const suffix = (week: Date) => week.toISOString().slice(0, 10).replaceAll('-', '');
const weekFrom = (weeks: number) => new Date(monday(new Date()).getTime() + weeks * WEEK);
const pair = (week: Date) => [`fires_p${suffix(week)}`, `executions_p${suffix(week)}`];

async function partitionsOf(parent: 'fires' | 'executions'): Promise<string[]> {
  const { rows } = await sql<{ relname: string }>`
    SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
     WHERE i.inhparent = to_regclass(${`${ex.schema}.${parent}`}) ORDER BY c.relname`.execute(ex.db);
  return rows.map((row) => row.relname);
}

async function exists(relation: string): Promise<boolean> {
  const { rows } = await sql<{ found: boolean }>`
    SELECT to_regclass(${`${ex.schema}.${relation}`}) IS NOT NULL AS found`.execute(ex.db);
  return rows[0]!.found;
}

/** A fire of the test trigger at `at` with attempts in these statuses; returns its id. */
async function addFire(at: Date, statuses: string[], instance: string | null = null): Promise<string> {
  const { rows } = await sql<{ id: string }>`
    INSERT INTO ${t('fires')} (trigger_id, trigger_name, trigger_group, job_name, scheduled_at, fired_at)
    VALUES (${triggerId}, 'every-hour', 'default', 'work', ${at}, ${at}) RETURNING id`.execute(ex.db);
  const fireId = rows[0]!.id;
  for (const [index, status] of statuses.entries()) {
    await sql`INSERT INTO ${t('executions')} (fire_id, scheduled_at, attempt, job_name, status, instance_id, run_at, started_at)
              VALUES (${fireId}, ${at}, ${index + 1}, 'work', ${status}, ${instance}::uuid, ${at},
                      ${status === 'pending' ? null : at})`.execute(ex.db);
  }
  return fireId;
}

/** The partition a fire's row lives in. */
async function partitionOfFire(fireId: string): Promise<string> {
  const { rows } = await sql<{ partition: string }>`
    SELECT tableoid::regclass::text AS partition FROM ${t('fires')} WHERE id = ${fireId}`.execute(ex.db);
  return rows[0]!.partition.replace(`${ex.schema}.`, '');
}

async function sqlStateOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
    return undefined;
  } catch (error) {
    return (error as { code?: string }).code;
  }
}

beforeAll(async () => {
  ex = { db: database.db, schema: database.schema };
});
beforeEach(async () => {
  await sql`TRUNCATE ${t('fires')}, ${t('executions')}, ${t('triggers')}, ${t('jobs')}, ${t('instances')}, ${t('leader_terms')} CASCADE`.execute(
    ex.db,
  );
  await sql`UPDATE ${t('leader')} SET holder = NULL, epoch = 0, expires_at = NULL`.execute(ex.db);
  await defineJob(ex, 'work');
  await defineJob(ex, 'next');
  triggerId = await defineTrigger(
    ex,
    { name: 'every-hour', job: 'work', spec: { kind: 'interval', everyMs: 3_600_000 } },
    new Date('2099-01-01T00:00:00Z'),
  );
  leaderId = randomUUID();
  await registerInstance(ex, { id: leaderId, name: 'leader', host: 'h', pid: 1, version: 'x', lockKey: 7 });
  const lease = await acquireOrRenewLease(ex, {
    instanceId: leaderId,
    ttlMs: 60_000,
    lockNamespace: lockNamespace(ex.schema),
    holderGraceMs: 60_000,
  });
  epoch = lease!.epoch;
});

describe('history partitions', () => {
  it('lays the history out in weekly partitions, Monday to Monday UTC, with a default partition', async () => {
    for (const parent of ['fires', 'executions'] as const) {
      const partitions = await partitionsOf(parent);
      expect(partitions).toEqual(
        expect.arrayContaining([0, 1, 2].map((w) => `${parent}_p${suffix(weekFrom(w))}`)),
      );
      expect(partitions).toContain(`${parent}_default`);
    }
    const { rows } = await sql<{ bound: string }>`
      SELECT pg_get_expr(c.relpartbound, c.oid) AS bound FROM pg_class c
       WHERE c.oid = to_regclass(${`${ex.schema}.fires_p${suffix(weekFrom(0))}`})`.execute(ex.db);
    const from = await sql<{ a: string; b: string }>`
      SELECT ${weekFrom(0)}::timestamptz::text AS a, ${weekFrom(1)}::timestamptz::text AS b`.execute(ex.db);
    expect(rows[0]!.bound).toBe(`FOR VALUES FROM ('${from.rows[0]!.a}') TO ('${from.rows[0]!.b}')`);

    const fire = await addFire(new Date(weekFrom(1).getTime() + 5 * 3_600_000), ['succeeded']);
    expect(await partitionOfFire(fire)).toBe(`fires_p${suffix(weekFrom(1))}`);
    const far = await addFire(new Date('2099-06-01T00:00:00Z'), ['succeeded']);
    expect(await partitionOfFire(far)).toBe('fires_default');
    // job_history (the stable contract) reads across partitions, with its columns unchanged.
    const history = await sql<Record<string, unknown>>`
      SELECT * FROM ${t('job_history')} ORDER BY scheduled_at`.execute(ex.db);
    expect(history.rows.map((row) => row.fire_id)).toEqual([fire, far]);
    expect(Object.keys(history.rows[0]!)).toEqual([
      'execution_id', 'fire_id', 'job', 'trigger', 'trigger_group', 'scheduled_at', 'fired_at', 'started_at',
      'finished_at', 'lag_ms', 'duration_ms', 'instance', 'instance_id', 'attempt', 'status', 'error', 'trace_id',
      'result', 'origin', 'requested', 'requested_by', 'upstream_fire_id', 'dead_letter_discarded_at',
    ]); // prettier-ignore
  });

  it('keeps the exactly-once keys global: a duplicate fire or attempt is refused in any partition', async () => {
    const at = new Date(weekFrom(1).getTime() + 3_600_000);
    const fire = await addFire(at, ['succeeded']);
    // The same (trigger, scheduled time) again, through the parent: fires_once refuses it.
    expect(await sqlStateOf(addFire(at, []))).toBe('23505');
    // Written straight into another week's partition, the row is refused by that partition's bounds: a
    // (trigger, scheduled time) can only ever live in the one partition that holds its time.
    expect(
      await sqlStateOf(
        sql`INSERT INTO ${t(`fires_p${suffix(weekFrom(2))}`)} (trigger_id, trigger_name, trigger_group, job_name, scheduled_at)
            VALUES (${triggerId}, 'every-hour', 'default', 'work', ${at})`.execute(ex.db),
      ),
    ).toBe('23514');
    // In the default partition too.
    const far = new Date('2099-06-01T00:00:00Z');
    await addFire(far, []);
    expect(await sqlStateOf(addFire(far, []))).toBe('23505');
    // An attempt number of a fire is taken once (executions_attempt_once).
    expect(
      await sqlStateOf(
        sql`INSERT INTO ${t('executions')} (fire_id, scheduled_at, attempt, job_name, status)
            VALUES (${fire}, ${at}, 1, 'work', 'pending')`.execute(ex.db),
      ),
    ).toBe('23505');
    const { rows } = await sql<{ n: string }>`SELECT count(*) AS n FROM ${t('fires')}`.execute(ex.db);
    expect(Number(rows[0]!.n)).toBe(2);
  });

  it('retention drops a whole expired week, and keeps a week that still has a running attempt', async () => {
    // Three old weeks, ten to eight weeks back, created as the upkeep would have then.
    const old = [-10, -9, -8].map(weekFrom);
    const ensured = await inTransaction(ex, (tx) =>
      ensureHistoryPartitions(tx, { weeksAhead: 2, now: new Date(old[0]!.getTime() + DAY) }),
    );
    expect(ensured.created.map((week) => week.suffix)).toEqual(old.map(suffix));
    const hour = 3_600_000;
    const expired = [
      await addFire(new Date(old[0]!.getTime() + hour), ['failed', 'succeeded']),
      await addFire(new Date(old[0]!.getTime() + 2 * DAY), ['misfired']),
    ];
    const finishedBesideRunning = await addFire(new Date(old[1]!.getTime() + hour), ['succeeded']);
    const running = await addFire(new Date(old[1]!.getTime() + 3 * DAY), ['failed', 'running'], leaderId);
    const current = await addFire(new Date(weekFrom(0).getTime() + hour), ['succeeded']);

    const pass = await new HistoryPruner({
      executor: ex,
      instanceId: () => leaderId,
      retentionMs: 30 * DAY,
    }).pass(epoch);
    expect(pass).toMatchObject({ leaseHeld: true, partitionsDropped: [...pair(old[0]!), ...pair(old[2]!)] });
    for (const name of [...pair(old[0]!), ...pair(old[2]!)]) expect(await exists(name)).toBe(false);
    // The week with a running attempt stays attached; the row-by-row retention took its finished fire.
    for (const name of pair(old[1]!)) expect(await exists(name)).toBe(true);
    expect(pass).toMatchObject({ fires: 1, executions: 1 });
    const { rows } = await sql<{ id: string }>`SELECT id::text FROM ${t('fires')} ORDER BY id`.execute(ex.db);
    expect(rows.map((row) => row.id)).toEqual([running, current]);
    expect(rows.map((row) => row.id)).not.toContain(finishedBesideRunning);
    for (const id of expired) expect(rows.map((row) => row.id)).not.toContain(id);
    const attempts = await sql<{ fire_id: string; status: string }>`
      SELECT fire_id::text, status FROM ${t('executions')} ORDER BY fire_id, attempt`.execute(ex.db);
    expect(attempts.rows).toEqual([
      { fire_id: running, status: 'failed' },
      { fire_id: running, status: 'running' },
      { fire_id: current, status: 'succeeded' },
    ]);
    expect(await partitionOfFire(current)).toBe(`fires_p${suffix(weekFrom(0))}`);
  });

  it('creates the weeks ahead, and skips (logging once) a week whose rows are already in the default partition', async () => {
    const ahead = [3, 4, 5].map(weekFrom);
    for (const week of ahead) for (const name of pair(week)) expect(await exists(name)).toBe(false);
    // A fire four weeks ahead has no partition yet: it lands in the default partition.
    const early = await addFire(new Date(ahead[1]!.getTime() + DAY), ['pending']);
    expect(await partitionOfFire(early)).toBe('fires_default');

    const warnings: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => warnings.push(JSON.parse(line).msg) });
    const pruner = new HistoryPruner({
      executor: ex,
      instanceId: () => leaderId,
      retentionMs: 365 * DAY,
      now: () => new Date(ahead[0]!.getTime() + 3_600_000),
      logger,
    });
    const pass = await pruner.pass(epoch);
    expect(pass).toMatchObject({
      leaseHeld: true,
      partitionsCreated: [...pair(ahead[0]!), ...pair(ahead[2]!)],
    });
    for (const name of pair(ahead[1]!)) expect(await exists(name)).toBe(false);
    expect(warnings.filter((msg) => msg.startsWith('history week not partitioned'))).toHaveLength(1);
    expect(await partitionOfFire(early)).toBe('fires_default');

    // The next pass creates nothing and does not log the blocked week again.
    expect(await pruner.pass(epoch)).toMatchObject({ leaseHeld: true, partitionsCreated: [] });
    expect(warnings.filter((msg) => msg.startsWith('history week not partitioned'))).toHaveLength(1);
    // New fires of the created weeks go to their partitions; of the blocked week, to the default.
    expect(await partitionOfFire(await addFire(new Date(ahead[2]!.getTime() + DAY), []))).toBe(
      `fires_p${suffix(ahead[2]!)}`,
    );
    expect(await partitionOfFire(await addFire(new Date(ahead[1]!.getTime() + 2 * DAY), []))).toBe(
      'fires_default',
    );
  });

  it('gives way to a transaction holding the default partition, and creates the week on a later pass', async () => {
    const week = weekFrom(6);
    const warnings: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => warnings.push(JSON.parse(line).msg) });
    const pruner = new HistoryPruner({
      executor: ex,
      instanceId: () => leaderId,
      retentionMs: 365 * DAY,
      now: () => new Date(week.getTime() - 2 * WEEK + 3_600_000),
      logger,
    });
    // A reader in the middle of a transaction that touched the default partition (a claim's scan does).
    const reader = await database.pool.connect();
    try {
      await reader.query('BEGIN');
      await reader.query(`SELECT count(*) FROM "${ex.schema}".executions_default`);
      const started = performance.now();
      const blocked = await pruner.pass(epoch);
      expect(performance.now() - started).toBeLessThan(5_000);
      expect(blocked).toMatchObject({ leaseHeld: true, partitionsCreated: [] });
      expect(warnings).toContain('history partition upkeep failed; next pass retries');
      await reader.query('COMMIT');
    } finally {
      reader.release();
    }
    const later = await pruner.pass(epoch);
    expect(later.partitionsCreated).toEqual(expect.arrayContaining(pair(week)));
    for (const name of pair(week)) expect(await exists(name)).toBe(true);
  });

  it('claims and completes through one partition of each table (EXPLAIN ANALYZE)', async () => {
    // History in six weeks, so there is something to prune.
    await inTransaction(ex, (tx) => ensureHistoryPartitions(tx, { weeksAhead: 2, now: weekFrom(-3) }));
    await sql`
      WITH f AS (
        INSERT INTO ${t('fires')} (trigger_name, trigger_group, job_name, scheduled_at)
        SELECT 'filler', 'default', 'work', ${weekFrom(-3)}::timestamptz + n * interval '5 minutes'
          FROM generate_series(0, 6 * 2016 - 1) n
        RETURNING id, scheduled_at)
      INSERT INTO ${t('executions')} (fire_id, scheduled_at, attempt, job_name, status)
      SELECT id, scheduled_at, 1, 'work', 'succeeded' FROM f`.execute(ex.db);
    await sql`ANALYZE ${t('fires')}`.execute(ex.db);
    await sql`ANALYZE ${t('executions')}`.execute(ex.db);
    await defineAfterTrigger(ex, 'then-next', 'next', { job: 'work', on: ['succeeded'] });
    const instanceId = randomUUID();
    await registerInstance(ex, {
      id: instanceId,
      name: 'runner',
      host: 'h',
      pid: 2,
      version: 'x',
      lockKey: 8,
    });
    const at = new Date(Date.now() - 60_000);
    await addFire(at, ['pending']);
    const week = suffix(monday(at));

    // The claim: its `locked` scan looks for pending attempts in every partition (a pending attempt's run
    // time says nothing of its fire's week); everything after it touches the claimed row's partition only.
    const claim = await capture((logged) =>
      claimPendingExecutions(logged, { instanceId, jobs: ['work'], limit: 10 }),
    );
    expect(await touched(claim, { skipping: 'CTE locked' })).toEqual({
      fires: [`fires_p${week}`],
      executions: [`executions_p${week}`],
    });

    // The completion of the claimed attempt, with its continuation fired in the same statement.
    const [claimed] = await claimPendingExecutions(ex, { instanceId, jobs: ['work'], limit: 10 });
    const outcome = {
      executionId: claimed!.executionId,
      scheduledAt: claimed!.scheduledAt,
      status: 'succeeded' as const,
      error: null,
      result: null,
      traceId: null,
      retryAfterMs: null,
    };
    const completion = await capture((logged) =>
      completeExecutions(logged, { instanceId, outcomes: [outcome] }),
    );
    expect(await touched(completion)).toEqual({
      fires: [`fires_p${week}`],
      executions: [`executions_p${week}`],
    });
    // And it works: the outcome is recorded and the continuation's fire lands in the same week.
    expect(await completeExecutions(ex, { instanceId, outcomes: [outcome] })).toEqual(
      new Set([claimed!.executionId]),
    );
    const { rows } = await sql<{ partition: string }>`
      SELECT tableoid::regclass::text AS partition FROM ${t('fires')} WHERE origin = 'continuation'`.execute(
      ex.db,
    );
    expect(rows.map((row) => row.partition.replace(`${ex.schema}.`, ''))).toEqual([`fires_p${week}`]);
  });

  it('moves an existing history into partitions when it upgrades from 0010', async () => {
    const legacy = await createTestDatabase({ migrate: false });
    try {
      const old = loadMigrations().filter((migration) => migration.version <= 10);
      await migrate(legacy.pool, legacy.schema, { migrations: old });
      const s = (name: string) => sql.table(`${legacy.schema}.${name}`);
      const lx: Executor = { db: legacy.db, schema: legacy.schema };
      await defineJob(lx, 'work');
      // Three years back (past the two-year cap: the default partition), ten weeks back, and now, with
      // retries; ids as the sequences gave them.
      await sql`
        WITH f AS (
          INSERT INTO ${s('fires')} (trigger_name, trigger_group, job_name, scheduled_at, fired_at, data)
          SELECT 'old-' || n, 'default', 'work', at, at + interval '2 ms', jsonb_build_object('n', n)
            FROM (VALUES (1, now() - interval '3 years'), (2, now() - interval '70 days'),
                         (3, now() - interval '69 days'), (4, date_trunc('milliseconds', now()))) v(n, at)
          RETURNING id, scheduled_at)
        INSERT INTO ${s('executions')} (fire_id, attempt, job_name, status, run_at, started_at, finished_at, error)
        SELECT id, a, 'work', CASE WHEN a = 1 THEN 'failed' ELSE 'succeeded' END, scheduled_at,
               scheduled_at + interval '1 ms', scheduled_at + a * interval '10 ms', CASE WHEN a = 1 THEN 'boom' END
          FROM f CROSS JOIN generate_series(1, 2) a`.execute(legacy.db);
      const snapshot = async () =>
        (await sql`SELECT * FROM ${s('job_history')} ORDER BY execution_id`.execute(legacy.db)).rows;
      const before = await snapshot();
      expect(before).toHaveLength(8);

      await migrate(legacy.pool, legacy.schema);
      expect(await snapshot()).toEqual(before);
      const { rows } = await sql<{ n: string; partition: string; exact: boolean }>`
        SELECT f.trigger_name AS n, f.tableoid::regclass::text AS partition,
               bool_and(e.scheduled_at = f.scheduled_at AND e.tableoid::regclass::text = replace(f.tableoid::regclass::text, '.fires_', '.executions_')) AS exact
          FROM ${s('fires')} f JOIN ${s('executions')} e ON e.fire_id = f.id
         GROUP BY f.trigger_name, f.tableoid ORDER BY f.trigger_name`.execute(legacy.db);
      const partition = (weeksBack: number) =>
        `${legacy.schema}.fires_p${suffix(monday(new Date(Date.now() - weeksBack * DAY)))}`;
      expect(rows).toEqual([
        { n: 'old-1', partition: `${legacy.schema}.fires_default`, exact: true },
        { n: 'old-2', partition: partition(70), exact: true },
        { n: 'old-3', partition: partition(69), exact: true },
        { n: 'old-4', partition: partition(0), exact: true },
      ]);
      // The sequences moved with their values: the next ids follow the old ones.
      const next = await sql<{ fire: string; execution: string; max_fire: string; max_execution: string }>`
        SELECT nextval(${`${legacy.schema}.fires_id_seq`}::regclass) AS fire,
               nextval(${`${legacy.schema}.executions_id_seq`}::regclass) AS execution,
               (SELECT max(id) FROM ${s('fires')}) AS max_fire, (SELECT max(id) FROM ${s('executions')}) AS max_execution`.execute(
        legacy.db,
      );
      expect(BigInt(next.rows[0]!.fire)).toBeGreaterThan(BigInt(next.rows[0]!.max_fire));
      expect(BigInt(next.rows[0]!.execution)).toBeGreaterThan(BigInt(next.rows[0]!.max_execution));
      const owned = await sql<{ owner: string }>`
        SELECT d.refobjid::regclass::text AS owner FROM pg_depend d
         WHERE d.objid = ${`${legacy.schema}.fires_id_seq`}::regclass AND d.deptype = 'a'`.execute(legacy.db);
      expect(owned.rows.map((row) => row.owner)).toEqual([`${legacy.schema}.fires`]);
      // The old tables are gone.
      const leftovers = await sql<{ n: string }>`
        SELECT count(*) AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = ${legacy.schema} AND c.relname LIKE '%unpartitioned%'`.execute(legacy.db);
      expect(Number(leftovers.rows[0]!.n)).toBe(0);
    } finally {
      await dropTestDatabase(legacy);
    }
  });
});

// EXPLAIN ANALYZE of a store function's statement: run it once in a rolled-back transaction on an
// executor whose Kysely logs what it sends, then explain exactly that text with those parameters, in
// another rolled-back transaction, and list the partitions whose scans ran.

let captured: CompiledQuery[] = [];
let logging: Kysely<Database> | undefined;

class RolledBack extends Error {}

async function capture(run: (logged: Executor) => Promise<unknown>): Promise<CompiledQuery> {
  captured = [];
  logging ??= new Kysely<Database>({
    dialect: new PostgresDialect({ pool: database.pool }),
    log: (event) => {
      if (event.level === 'query') captured.push(event.query);
    },
  }).withSchema(database.schema);
  await logging
    .transaction()
    .execute(async (trx) => {
      await run({ db: trx, schema: database.schema });
      throw new RolledBack();
    })
    .catch((error: unknown) => {
      if (!(error instanceof RolledBack)) throw error;
    });
  const statement = captured.find((query) => /executions/.test(query.sql));
  expect(statement).toBeDefined();
  return statement!;
}

type PlanNode = {
  'Relation Name'?: string;
  'Actual Loops'?: number;
  'Subplan Name'?: string;
  Plans?: PlanNode[];
};

async function touched(
  query: CompiledQuery,
  options: { skipping?: string } = {},
): Promise<{ fires: string[]; executions: string[] }> {
  const client = await database.pool.connect();
  try {
    await client.query('BEGIN');
    const { rows } = await client.query<{ 'QUERY PLAN': { Plan: PlanNode }[] }>(
      `EXPLAIN (ANALYZE, FORMAT JSON) ${query.sql}`,
      query.parameters as unknown[],
    );
    await client.query('ROLLBACK');
    const seen = new Set<string>();
    const walk = (node: PlanNode) => {
      if (options.skipping && node['Subplan Name'] === options.skipping) return;
      const relation = node['Relation Name'];
      if (relation && /_(p\d{8}|default)$/.test(relation) && (node['Actual Loops'] ?? 0) > 0)
        seen.add(relation);
      for (const child of node.Plans ?? []) walk(child);
    };
    walk(rows[0]!['QUERY PLAN'][0]!.Plan);
    const names = [...seen].sort();
    return {
      fires: names.filter((name) => name.startsWith('fires_')),
      executions: names.filter((name) => name.startsWith('executions_')),
    };
  } finally {
    client.release();
  }
}
