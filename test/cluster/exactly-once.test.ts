/**
 * Issue 2's cluster test: 3 replica processes, 100 interval triggers every 1 s plus 20 cron triggers
 * `* * * * * *`, for 30 s. job_history must then show exactly one execution per (trigger, scheduled
 * time) in the window, no gaps, and work done by all 3 replicas.
 */
import { afterAll, expect, it } from 'vitest';
import { sql } from 'kysely';
import { testDatabaseUrl, useTestSchema } from '../support/schema.js';
import { spawnReplica, stopReplicas, type ReplicaHandle } from '../support/cluster.js';
import { defineJob, defineTrigger } from '../support/fixtures.js';

const WINDOW_S = 30;
const database = useTestSchema();
let replicas: ReplicaHandle[] = [];

afterAll(async () => {
  await stopReplicas(replicas, 'SIGKILL');
});

it(`fires 120 triggers exactly once per scheduled second for ${WINDOW_S} s across 3 replica processes`, async () => {
  const ex = { db: database.db, schema: database.schema };
  await defineJob(ex, 'noop');
  const {
    rows: [clock],
  } = await sql<{ now: Date }>`SELECT now() AS now`.execute(database.db);
  const windowStart = new Date(Math.ceil(clock!.now.getTime() / 1000) * 1000 + 6_000);
  const windowEnd = new Date(windowStart.getTime() + WINDOW_S * 1000);
  for (let i = 0; i < 100; i += 1) {
    const spec = { kind: 'interval', everyMs: 1000 } as const;
    await defineTrigger(ex, { name: `interval-${i}`, group: 'interval', job: 'noop', spec }, windowStart);
  }
  for (let i = 0; i < 20; i += 1) {
    const spec = { kind: 'cron', expression: '* * * * * *', timezone: 'UTC' } as const;
    await defineTrigger(ex, { name: `cron-${i}`, group: 'cron', job: 'noop', spec }, windowStart);
  }

  replicas = [1, 2, 3].map((i) =>
    spawnReplica({
      name: `replica-${i}`,
      databaseUrl: testDatabaseUrl(),
      schema: database.schema,
      concurrency: 200,
    }),
  );
  await Promise.all(replicas.map((replica) => replica.waitFor('started')));

  // Wait (by the database clock) until the window has passed and its last fires have finished.
  for (;;) {
    const { rows } = await sql<{
      done: boolean;
    }>`SELECT now() > ${windowEnd}::timestamptz + interval '2 seconds' AS done`.execute(database.db);
    if (rows[0]!.done) break;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  await stopReplicas(replicas);
  expect(replicas.map((r) => r.child.exitCode)).toEqual([0, 0, 0]);

  const history = sql.table(`${database.schema}.job_history`);
  const { rows: perTrigger } = await sql<{
    trigger: string;
    fires: number;
    distinct_times: number;
    executions: number;
    bad: number;
  }>`
    SELECT trigger, count(DISTINCT fire_id)::int AS fires, count(DISTINCT scheduled_at)::int AS distinct_times,
           count(*)::int AS executions, count(*) FILTER (WHERE status <> 'succeeded' OR attempt <> 1)::int AS bad
      FROM ${history}
     WHERE scheduled_at >= ${windowStart} AND scheduled_at < ${windowEnd}
     GROUP BY trigger ORDER BY trigger`.execute(database.db);
  expect(perTrigger).toHaveLength(120);
  for (const row of perTrigger) {
    expect(row, row.trigger).toMatchObject({
      fires: WINDOW_S,
      distinct_times: WINDOW_S,
      executions: WINDOW_S,
      bad: 0,
    });
  }
  const { rows: instances } = await sql<{ instance: string; n: number }>`
    SELECT instance, count(*)::int AS n FROM ${history}
     WHERE scheduled_at >= ${windowStart} AND scheduled_at < ${windowEnd} GROUP BY instance`.execute(
    database.db,
  );
  expect(instances.map((row) => row.instance).sort()).toEqual(['replica-1', 'replica-2', 'replica-3']);
  const { rows: lag } = await sql<{ p99: number; max: number }>`
    SELECT percentile_cont(0.99) WITHIN GROUP (ORDER BY lag_ms) AS p99, max(lag_ms)::int AS max FROM ${history}
     WHERE scheduled_at >= ${windowStart} AND scheduled_at < ${windowEnd}`.execute(database.db);
  console.log(
    `[cluster] ${perTrigger.length * WINDOW_S} fires, per instance ${JSON.stringify(instances)}, lag p99 ${lag[0]!.p99} ms, max ${lag[0]!.max} ms`,
  );
}, 120_000);
