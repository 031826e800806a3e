/**
 * `fireNow` records its fire and a pending first attempt in one statement with its NOTIFY, and a woken
 * replica claims it (decision 0010): the history a user sees is that of any one-off (the trigger fired
 * once, its fire, `job_history`), `trigger:fired` is announced once per fire, and across three replicas
 * every fire runs exactly once. A paused or `concurrency: forbid` job keeps the waiting one-off the
 * planner fires (a paused job's fire waits for its resume).
 */
import { sql, Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { idempotencyKey, type JobContext } from '../../../src/jobs/job.js';
import { scheduleOneOff } from '../../../src/operations/fire-operations.js';
import type { Scheduler } from '../../../src/scheduler.js';
import { ONE_OFF_NOTIFY } from '../../../src/store/definition-store.js';
import { changeChannel } from '../../../src/store/executor.js';
import { FIRED_NOW_NOTIFY } from '../../../src/store/fire-now-store.js';
import type { Database } from '../../../src/store/tables.js';
import { defineJob } from '../../support/fixtures.js';
import { testScheduler, waitForEvents } from '../../support/scheduler.js';
import { testDatabaseUrl, useTestSchema } from '../../support/schema.js';

const database = useTestSchema();
const ex = () => ({ db: database.db, schema: database.schema });
let listener: pg.Client;
const notices: string[] = [];
const schedulers: Scheduler[] = [];

beforeAll(async () => {
  await defineJob(ex(), 'noop', { data: { from: 'job', kept: 1 } });
  await defineJob(ex(), 'held');
  await defineJob(ex(), 'single', { concurrency: 'forbid' });
  listener = new pg.Client({ connectionString: testDatabaseUrl() });
  await listener.connect();
  listener.on('notification', (message) => notices.push(message.payload ?? ''));
  await listener.query(`LISTEN ${listener.escapeIdentifier(changeChannel(database.schema))}`);
});

afterAll(async () => {
  await Promise.all(schedulers.map((s) => s.stop({ timeoutMs: 500 }).catch(() => {})));
  await listener?.end();
});

const t = (name: keyof Database) => sql.table(`${database.schema}.${name}`);

async function triggerOf(name: string) {
  const { rows } = await sql<{
    state: string;
    times_fired: string;
    next_fire_at: Date | null;
    previous_fire_at: Date | null;
  }>`SELECT state, times_fired, next_fire_at, previous_fire_at FROM ${t('triggers')} WHERE name = ${name}`.execute(
    database.db,
  );
  return rows[0];
}

async function attemptsOf(name: string) {
  const { rows } = await sql<{ status: string; attempt: number; origin: string; trigger_group: string }>`
    SELECT e.status, e.attempt, f.origin, f.trigger_group
      FROM ${t('fires')} f JOIN ${t('executions')} e ON e.fire_id = f.id WHERE f.trigger_name = ${name}`.execute(
    database.db,
  );
  return rows;
}

describe('the fireNow write', () => {
  it('writes the fired one-off, its fire and a pending attempt, and notifies `pending`, in one statement', async () => {
    notices.length = 0;
    const statements: string[] = [];
    const db = new Kysely<Database>({
      dialect: new PostgresDialect({ pool: database.pool }),
      log: (event) => {
        statements.push(event.query.sql);
      },
    });
    const name = await scheduleOneOff(
      { db, schema: database.schema },
      { job: 'noop', at: null, data: { from: 'call' } },
    );
    expect(statements).toHaveLength(1);
    const trigger = await triggerOf(name);
    expect(trigger).toMatchObject({ state: 'complete', times_fired: '1', next_fire_at: null });
    expect(trigger!.previous_fire_at).toBeInstanceOf(Date);
    expect(await attemptsOf(name)).toEqual([
      { status: 'pending', attempt: 1, origin: 'schedule', trigger_group: 'one-off' },
    ]);
    const { rows } = await sql<{ data: unknown; scheduled_at: Date; instance_id: string | null }>`
      SELECT data, scheduled_at, instance_id FROM ${t('fires')} WHERE trigger_name = ${name}`.execute(
      database.db,
    );
    // The job's data under the call's, as the planner merges them; no replica recorded it.
    expect(rows).toEqual([
      { data: { from: 'call', kept: 1 }, scheduled_at: trigger!.previous_fire_at, instance_id: null },
    ]);
    await expect.poll(() => notices, { timeout: 5_000 }).toEqual([FIRED_NOW_NOTIFY]);
    expect(FIRED_NOW_NOTIFY).not.toBe('triggers');
  });

  it.each([
    ['a paused job', 'held'],
    ['a concurrency: forbid job', 'single'],
  ])('leaves %s a waiting one-off due now for the planner (NOTIFY `fire`)', async (_what, job) => {
    if (job === 'held')
      await sql`UPDATE ${t('jobs')} SET paused = true WHERE name = 'held'`.execute(database.db);
    notices.length = 0;
    const name = await scheduleOneOff(ex(), { job, at: null, data: null });
    const trigger = await triggerOf(name);
    expect(trigger).toMatchObject({ state: 'waiting', times_fired: '0', previous_fire_at: null });
    expect(trigger!.next_fire_at).toBeInstanceOf(Date);
    expect(await attemptsOf(name)).toEqual([]);
    await expect.poll(() => notices, { timeout: 5_000 }).toEqual([ONE_OFF_NOTIFY]);
  });

  it('writes and sends nothing for an unknown job', async () => {
    notices.length = 0;
    await expect(scheduleOneOff(ex(), { job: 'nope', at: null, data: null })).rejects.toThrow(/nope/);
    const { rows } = await sql<{ n: number }>`
      SELECT count(*)::int AS n FROM ${t('triggers')} WHERE job_name = 'nope'`.execute(database.db);
    expect(rows[0]!.n).toBe(0);
    await scheduleOneOff(ex(), { job: 'noop', at: null, data: null });
    // Only the second write's NOTIFY arrives (notifications are delivered in commit order).
    await expect.poll(() => notices, { timeout: 5_000 }).toEqual([FIRED_NOW_NOTIFY]);
  });
});

describe('claimed by three replicas', () => {
  it('runs each fire once, announced once, with the idempotency key of its trigger and time', async () => {
    await sql`DELETE FROM ${t('executions')}`.execute(database.db);
    await sql`UPDATE ${t('jobs')} SET paused = false WHERE name = 'held'`.execute(database.db);
    const runs = new Map<string, number>();
    const keys = new Map<string, string>();
    class Count {
      execute(ctx: JobContext) {
        runs.set(ctx.fire.trigger, (runs.get(ctx.fire.trigger) ?? 0) + 1);
        keys.set(ctx.fire.trigger, ctx.idempotencyKey);
      }
    }
    for (const name of ['a', 'b', 'c']) {
      const scheduler = testScheduler(database, { instanceName: name })
        .registerJob('noop', Count)
        .registerJob('held', Count)
        .registerJob('single', Count);
      schedulers.push(scheduler);
    }
    const fired: string[] = [];
    for (const s of schedulers) s.on('trigger:fired', (e) => fired.push(`${e.trigger}@${e.attempt}`));
    const FIRES = 60;
    // The paused job's and the forbid job's one-offs (above) fire through the planner now, too: they are
    // due already, so they may finish while start() is still resolving; listen before starting.
    const finished = waitForEvents(schedulers, 'execution:finished', FIRES + 2);
    await Promise.all(schedulers.map((s) => s.start()));
    const names: string[] = [];
    for (let i = 0; i < FIRES; i += 1) names.push(await schedulers[i % 3]!.fireNow('noop'));
    const events = await finished;
    expect(events.every((e) => e.status === 'succeeded')).toBe(true);
    for (const name of names) expect(runs.get(name), name).toBe(1);
    expect(fired.filter((f) => f.startsWith('noop.once.')).sort()).toEqual(names.map((n) => `${n}@1`).sort());
    expect(fired).toHaveLength(FIRES + 2);
    const { rows } = await sql<{ trigger: string; scheduled_at: Date; status: string; instance_id: string }>`
      SELECT trigger AS trigger, scheduled_at, status, instance_id FROM ${t('job_history')}
       WHERE trigger = ANY(${names}::text[])`.execute(database.db);
    expect(rows).toHaveLength(FIRES);
    for (const row of rows) {
      expect(row.status).toBe('succeeded');
      expect(schedulers.map((s) => s.instanceId)).toContain(row.instance_id);
      expect(keys.get(row.trigger)).toBe(idempotencyKey(row.trigger, row.scheduled_at));
    }
  });
});
