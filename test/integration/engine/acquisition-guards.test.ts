/**
 * Acquisition under the row lock (issue #10): a dead instance acquires nothing (item 3), a conflicting
 * fire row never breaks the batch (item 1), `concurrency: forbid` is judged at the scheduled time
 * (item 5), and a trigger whose schedule stops compiling is paused with its reason, then resumed by the
 * fix (item 6).
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { applyDefinitions } from '../../../src/config/definition-reconciler.js';
import { advanceOf, fireOf, planTrigger } from '../../../src/engine/fire-planner.js';
import type { Scheduler } from '../../../src/scheduler.js';
import { deleteCalendar, listTriggers, upsertCalendar } from '../../../src/store/definition-store.js';
import { inTransaction, type Executor } from '../../../src/store/executor.js';
import { lockDueTriggers, nextDueDelayMs, recordFires } from '../../../src/store/fire-store.js';
import { compileSchedule, type ScheduleSpec } from '../../../src/time/schedule.js';
import { defineJob, defineTrigger } from '../../support/fixtures.js';
import { useTestSchema } from '../../support/schema.js';
import { testScheduler, waitForEvents } from '../../support/scheduler.js';

const database = useTestSchema();
let scheduler: Scheduler | undefined;
const ex = (): Executor => ({ db: database.db, schema: database.schema });
const table = (name: string) => sql.table(`${database.schema}.${name}`);

afterEach(async () => {
  await scheduler?.stop();
  scheduler = undefined;
  await sql`TRUNCATE ${table('fires')}, ${table('executions')}, ${table('triggers')}, ${table('jobs')}, ${table('calendars')} CASCADE`.execute(
    database.db,
  );
});

async function dbNow(): Promise<Date> {
  return (await sql<{ now: Date }>`SELECT clock_timestamp() AS now`.execute(database.db)).rows[0]!.now;
}

async function registerInstance(state: 'active' | 'dead'): Promise<string> {
  const id = randomUUID();
  await sql`INSERT INTO ${table('instances')} (id, name, host, pid, version, lock_key, state)
            VALUES (${id}, 'test', 'h', 1, 'x', nextval(${`${database.schema}.instance_lock_key`}::regclass), ${state})`.execute(
    database.db,
  );
  return id;
}

/** One acquisition as the acquirer does it (lock, plan, record), in a transaction. */
function acquireOnce(instanceId: string) {
  return inTransaction(ex(), async (tx) => {
    const { triggers: due } = await lockDueTriggers(tx, { instanceId, jobs: ['work'], limit: 10 });
    const advances = [];
    const fires = [];
    for (const trigger of due) {
      const plan = planTrigger(trigger, compileSchedule(trigger.spec as ScheduleSpec), trigger.dbNow);
      advances.push(advanceOf(trigger, plan));
      fires.push(...plan.fires.map((planned) => fireOf(trigger, planned, null)));
    }
    return { due, recorded: await recordFires(tx, { instanceId, advances, fires }) };
  });
}

describe('acquisition is per identity', () => {
  it('a replica whose instance was declared dead (or is unknown) acquires nothing', async () => {
    await defineJob(ex(), 'work');
    await defineTrigger(
      ex(),
      { name: 'due', job: 'work', spec: { kind: 'interval', everyMs: 60_000 } },
      await dbNow(),
    );
    const dead = await registerInstance('dead');
    expect((await acquireOnce(dead)).due).toEqual([]);
    expect((await acquireOnce(randomUUID())).due).toEqual([]);
    const alive = await registerInstance('active');
    expect((await acquireOnce(alive)).recorded).toHaveLength(1);
  });
});

describe('a recorded schedule change', () => {
  it('is due at once for the sleep calculation, unless its job is paused (no spinning on it)', async () => {
    await defineJob(ex(), 'work');
    const id = await defineTrigger(
      ex(),
      { name: 'later', job: 'work', spec: { kind: 'interval', everyMs: 3_600_000 } },
      new Date(Date.UTC(2099, 0, 1)),
    );
    await sql`UPDATE ${table('triggers')} SET replan_at = now() WHERE id = ${id}`.execute(database.db);
    expect(await nextDueDelayMs(ex(), { jobs: ['work'] })).toBe(0);
    await sql`UPDATE ${table('jobs')} SET paused = true WHERE name = 'work'`.execute(database.db);
    expect(await nextDueDelayMs(ex(), { jobs: ['work'] })).toBeNull();
  });
});

describe('a conflicting fire row', () => {
  it('is skipped alone: the rest of the batch fires and its trigger still advances', async () => {
    await defineJob(ex(), 'work');
    const due = new Date(Math.floor((await dbNow()).getTime() / 1_000) * 1_000 - 1_000);
    const spec = { kind: 'interval', everyMs: 1_000 } as const;
    const held = await defineTrigger(ex(), { name: 'held', job: 'work', spec }, due);
    await defineTrigger(ex(), { name: 'free', job: 'work', spec }, due);
    // A fire for `held` at its due time already exists (as if a racing writer had moved it back).
    await sql`INSERT INTO ${table('fires')} (trigger_id, trigger_name, trigger_group, job_name, scheduled_at)
              VALUES (${held}, 'held', 'default', 'work', ${due})`.execute(database.db);
    const { recorded } = await acquireOnce(await registerInstance('active'));
    expect(recorded.map((fire) => fire.triggerId)).not.toContain(held);
    expect(recorded).toHaveLength(1);
    const rows = await listTriggers(ex(), { names: ['held', 'free'] });
    expect(rows.map((row) => row.nextFireAt)).toEqual([
      new Date(due.getTime() + 1_000),
      new Date(due.getTime() + 1_000),
    ]);
  });
});

class Busy {
  async execute(ctx: { signal: AbortSignal }) {
    await sleep(250, undefined, { signal: ctx.signal }).catch(() => {});
  }
}

describe('concurrency: forbid', () => {
  it(
    'is judged at the scheduled time, not when the fire-ahead window acquires it',
    { timeout: 30_000 },
    async () => {
      // Each run lasts 400 ms of a 500 ms period: it always ends before the next fire is due. With a
      // 200 ms fire-ahead, the next fire used to be judged at 300 ms, while the run was still going.
      scheduler = testScheduler(database, { fireAheadMs: 400 }).registerJob('forbid', Busy, {
        concurrency: 'forbid',
      });
      await defineJob(ex(), 'forbid', { concurrency: 'forbid' });
      const start = new Date(Math.ceil((await dbNow()).getTime() / 500) * 500 + 500);
      await defineTrigger(
        ex(),
        { name: 'steady', job: 'forbid', spec: { kind: 'interval', everyMs: 500 } },
        start,
      );
      await scheduler.start();
      await waitForEvents(scheduler, 'execution:finished', 4);
      await scheduler.stop();
      const { rows } = await sql<{ status: string }>`
      SELECT status FROM ${table('job_history')} WHERE trigger = 'steady' ORDER BY scheduled_at`.execute(
        database.db,
      );
      expect(rows.filter((row) => row.status === 'skipped')).toEqual([]);
      expect(rows.filter((row) => row.status === 'succeeded').length).toBeGreaterThanOrEqual(4);
    },
  );
});

class Work {
  async execute() {}
}

describe('a trigger whose schedule stops compiling', () => {
  it(
    'is paused with its reason and a history row, and resumed when the calendar comes back',
    { timeout: 30_000 },
    async () => {
      const office = { kind: 'holiday', dates: ['2099-12-24'] };
      await upsertCalendar(ex(), { name: 'office', spec: office, source: 'yaml' });
      await defineJob(ex(), 'work');
      await defineTrigger(
        ex(),
        {
          name: 'office-ticks',
          job: 'work',
          spec: { kind: 'interval', everyMs: 200, calendar: 'office' },
          calendarName: 'office',
        },
        await dbNow(),
      );
      scheduler = testScheduler(database).registerJob('work', Work);
      await scheduler.start();
      await waitForEvents(scheduler, 'execution:finished', 1, (e) => e.trigger === 'office-ticks');

      const skipped = waitForEvents(scheduler, 'execution:skipped', 1, (e) => e.trigger === 'office-ticks');
      await inTransaction(ex(), (tx) => deleteCalendar(tx, { name: 'office' }));
      await skipped;
      const [paused] = await listTriggers(ex(), { names: ['office-ticks'] });
      expect(paused).toMatchObject({ state: 'paused', nextFireAt: null });
      expect(paused!.pausedReason).toMatch(/calendar "office" is not defined/);
      const { rows: history } = await sql<{ status: string; error: string }>`
      SELECT status, error FROM ${table('job_history')} WHERE trigger = 'office-ticks' AND status = 'skipped'`.execute(
        database.db,
      );
      expect(history).toHaveLength(1);
      expect(history[0]!.error).toMatch(/paused: schedule failed: calendar "office" is not defined/);

      // The fix: the calendar is defined again through apply. The trigger resumes on its own.
      const resumed = await dbNow();
      const firing = waitForEvents(
        scheduler,
        'trigger:fired',
        2,
        (e) => e.trigger === 'office-ticks' && e.scheduledAt > resumed,
      );
      await applyDefinitions(ex(), {
        files: ['fix.yaml'],
        calendars: [{ name: 'office', spec: office as never, at: { file: 'fix.yaml', line: 1, column: 1 } }],
        jobs: [],
        triggers: [],
      });
      await firing;
      const [running] = await listTriggers(ex(), { names: ['office-ticks'] });
      expect(running).toMatchObject({ state: 'waiting', pausedReason: null });
    },
  );

  it(
    'is planned against the stored calendars even before the change NOTIFY arrives',
    { timeout: 30_000 },
    async () => {
      const office = { kind: 'holiday', dates: ['2099-12-24'] };
      await upsertCalendar(ex(), { name: 'office', spec: office, source: 'yaml' });
      await defineJob(ex(), 'work');
      await defineTrigger(
        ex(),
        {
          name: 'quiet',
          job: 'work',
          spec: { kind: 'interval', everyMs: 200, calendar: 'office' },
          calendarName: 'office',
        },
        await dbNow(),
      );
      scheduler = testScheduler(database).registerJob('work', Work);
      await scheduler.start();
      await waitForEvents(scheduler, 'execution:finished', 1, (e) => e.trigger === 'quiet');
      // The calendar goes and the change is recorded, but no NOTIFY tells the replica (a lost or late one).
      const skipped = waitForEvents(scheduler, 'execution:skipped', 1, (e) => e.trigger === 'quiet');
      await sql`DELETE FROM ${table('calendars')} WHERE name = 'office'`.execute(database.db);
      await sql`UPDATE ${table('triggers')} SET replan_at = now(), version = version + 1 WHERE name = 'quiet'`.execute(
        database.db,
      );
      await skipped;
      const [paused] = await listTriggers(ex(), { names: ['quiet'] });
      expect(paused).toMatchObject({ state: 'paused' });
    },
  );

  it('is resumed by an operator resume too, through a replan', { timeout: 30_000 }, async () => {
    await defineJob(ex(), 'work');
    const id = await defineTrigger(
      ex(),
      { name: 'fixed', job: 'work', spec: { kind: 'interval', everyMs: 200 } },
      await dbNow(),
    );
    // As the engine leaves a trigger it had to pause: no next fire, a reason.
    await sql`UPDATE ${table('triggers')} SET state = 'paused', next_fire_at = NULL, paused_reason = 'schedule failed: test'
               WHERE id = ${id}`.execute(database.db);
    scheduler = testScheduler(database).registerJob('work', Work);
    await scheduler.start();
    const firing = waitForEvents(scheduler, 'trigger:fired', 1, (e) => e.trigger === 'fixed');
    await scheduler.resume({ trigger: 'fixed' });
    await firing;
    const [running] = await listTriggers(ex(), { names: ['fixed'] });
    expect(running).toMatchObject({ state: 'waiting', pausedReason: null, replanAt: null });
  });
});
