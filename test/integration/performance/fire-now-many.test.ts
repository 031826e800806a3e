/**
 * `fireNowMany`: N one-offs of a job in one statement with one NOTIFY, each then claimed and run exactly
 * once across three replicas, with the history of any one-off; a paused job's list waits for the planner;
 * an unknown job writes nothing.
 */
import { sql, Kysely, PostgresDialect } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobContext } from '../../../src/jobs/job.js';
import { fireNowMany } from '../../../src/operations/fire-operations.js';
import type { Scheduler } from '../../../src/scheduler.js';
import type { Database } from '../../../src/store/tables.js';
import { defineJob } from '../../support/fixtures.js';
import { testScheduler, waitForEvents } from '../../support/scheduler.js';
import { useTestSchema } from '../../support/schema.js';

const database = useTestSchema();
const ex = () => ({ db: database.db, schema: database.schema });
const schedulers: Scheduler[] = [];
const t = (name: keyof Database) => sql.table(`${database.schema}.${name}`);

beforeAll(async () => {
  await defineJob(ex(), 'many', { data: { kept: 1 } });
  await defineJob(ex(), 'held');
});

afterAll(async () => {
  await Promise.all(schedulers.map((s) => s.stop({ timeoutMs: 500 }).catch(() => {})));
});

describe('fireNowMany', () => {
  it('writes every one-off, fire and pending attempt in one statement', async () => {
    const statements: string[] = [];
    const db = new Kysely<Database>({
      dialect: new PostgresDialect({ pool: database.pool }),
      log: (event) => {
        statements.push(event.query.sql);
      },
    });
    const names = await fireNowMany(
      { db, schema: database.schema },
      { job: 'many', data: [{ n: 1 }, null, { n: 3 }] },
    );
    expect(statements).toHaveLength(1);
    expect(new Set(names).size).toBe(3);
    const { rows } = await sql<{ trigger_name: string; data: unknown; status: string; state: string }>`
      SELECT f.trigger_name, f.data, e.status, t.state
        FROM ${t('fires')} f JOIN ${t('executions')} e ON e.fire_id = f.id JOIN ${t('triggers')} t ON t.id = f.trigger_id
       WHERE f.trigger_name = ANY(${names}::text[]) ORDER BY f.id`.execute(database.db);
    expect(rows).toEqual([
      { trigger_name: names[0], data: { kept: 1, n: 1 }, status: 'pending', state: 'complete' },
      { trigger_name: names[1], data: { kept: 1 }, status: 'pending', state: 'complete' },
      { trigger_name: names[2], data: { kept: 1, n: 3 }, status: 'pending', state: 'complete' },
    ]);
    await sql`DELETE FROM ${t('executions')}`.execute(database.db);
  });

  it('leaves a paused job waiting one-offs, and writes nothing for an unknown job', async () => {
    await sql`UPDATE ${t('jobs')} SET paused = true WHERE name = 'held'`.execute(database.db);
    const names = await fireNowMany(ex(), { job: 'held', data: [null, null] });
    const { rows } = await sql<{ state: string; fires: number }>`
      SELECT t.state, (SELECT count(*)::int FROM ${t('fires')} f WHERE f.trigger_id = t.id) AS fires
        FROM ${t('triggers')} t WHERE t.name = ANY(${names}::text[])`.execute(database.db);
    expect(rows).toEqual([
      { state: 'waiting', fires: 0 },
      { state: 'waiting', fires: 0 },
    ]);
    await sql`DELETE FROM ${t('triggers')} WHERE name = ANY(${names}::text[])`.execute(database.db);
    await expect(fireNowMany(ex(), { job: 'nope', data: [null] })).rejects.toThrow(/nope/);
    const { rows: none } = await sql<{ n: number }>`
      SELECT count(*)::int AS n FROM ${t('triggers')} WHERE job_name = 'nope'`.execute(database.db);
    expect(none[0]!.n).toBe(0);
    expect(await fireNowMany(ex(), { job: 'many', data: [] })).toEqual([]);
  });

  it('runs each of 300 exactly once across three replicas', async () => {
    const runs = new Map<string, number>();
    class Count {
      execute(ctx: JobContext) {
        runs.set(ctx.fire.trigger, (runs.get(ctx.fire.trigger) ?? 0) + 1);
      }
    }
    for (const name of ['a', 'b', 'c'])
      schedulers.push(testScheduler(database, { instanceName: name }).registerJob('many', Count));
    await Promise.all(schedulers.map((s) => s.start()));
    const finished = waitForEvents(schedulers, 'execution:finished', 300);
    const names = await schedulers[0]!.fireNowMany(
      'many',
      Array.from({ length: 300 }, (_, i) => ({ i })),
    );
    const events = await finished;
    expect(events.every((e) => e.status === 'succeeded')).toBe(true);
    for (const name of names) expect(runs.get(name), name).toBe(1);
    expect(runs.size).toBe(300);
    const { rows } = await sql<{ n: number; replicas: number }>`
      SELECT count(*)::int AS n, count(DISTINCT instance_id)::int AS replicas FROM ${t('job_history')}
       WHERE trigger = ANY(${names}::text[]) AND status = 'succeeded'`.execute(database.db);
    expect(rows[0]!.n).toBe(300);
  });
});
