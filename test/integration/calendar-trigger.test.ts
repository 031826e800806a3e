/**
 * Calendars in the running engine (issue 4): a calendar-aware trigger really skips excluded times and
 * really rolls an excluded day, with calendars stored in the database and resolved by the scheduler.
 */
import { expect, it } from 'vitest';
import { sql } from 'kysely';
import { useTestSchema } from '../support/schema.js';
import { testScheduler, waitForEvents } from '../support/scheduler.js';
import { defineJob, defineTrigger } from '../support/fixtures.js';
import { upsertCalendar } from '../../src/store/definition-store.js';
import { compileSchedule, type ScheduleSpec } from '../../src/time/schedule.js';
import { createCalendarResolver } from '../../src/time/calendar-resolver.js';
import type { CalendarSpec } from '../../src/time/calendar.js';

const database = useTestSchema();
const ex = () => ({ db: database.db, schema: database.schema });

class Noop {
  execute() {}
}

async function dbNow(): Promise<Date> {
  const { rows } = await sql<{ now: Date }>`SELECT clock_timestamp() AS now`.execute(database.db);
  return rows[0]!.now;
}

it('skips the times a cron calendar excludes, and fires every other one', async () => {
  const even: CalendarSpec = { kind: 'cron', expression: '*/2 * * * * *', dialect: 'cron' };
  await upsertCalendar(ex(), { name: 'even-seconds', spec: even, source: 'test' });
  await defineJob(ex(), 'noop');
  const spec: ScheduleSpec = {
    kind: 'cron',
    expression: '* * * * * *',
    timezone: 'UTC',
    calendar: 'even-seconds',
  };
  const schedule = compileSchedule(spec, { calendars: createCalendarResolver({ 'even-seconds': even }) });
  const first = schedule.next(await dbNow())!;
  await defineTrigger(ex(), { name: 'odd-seconds', job: 'noop', spec, calendarName: 'even-seconds' }, first);
  const scheduler = testScheduler(database).registerJob('noop', Noop);
  await scheduler.start();
  const fired = await waitForEvents(scheduler, 'execution:finished', 4);
  await scheduler.stop();
  const seconds = fired.map((event) => event.scheduledAt.getTime() / 1000);
  expect(seconds.every((s) => s % 2 === 1)).toBe(true);
  for (let i = 1; i < seconds.length; i += 1) expect(seconds[i]! - seconds[i - 1]!).toBe(2);
});

it('rolls a fire off an excluded day (previous-business-day) and the preview agrees with the engine', async () => {
  const now = await dbNow();
  const at = new Date(Math.ceil(now.getTime() / 1000) * 1000 + 3_000);
  const today = at.toISOString().slice(0, 10);
  const tomorrow = new Date(at.getTime() + 86_400_000).toISOString().slice(0, 10);
  const holidays: CalendarSpec = {
    kind: 'holiday',
    dates: [{ date: tomorrow, name: 'Test Day' }],
    timezone: 'UTC',
  };
  await upsertCalendar(ex(), { name: 'test-holidays', spec: holidays, source: 'test' });
  await defineJob(ex(), 'roller');
  // The schedule fires only on tomorrow's day of the month, at `at`'s time of day. Tomorrow is a holiday,
  // so that fire rolls back to the previous business day: today, three seconds from now.
  const [h, m, s] = [at.getUTCHours(), at.getUTCMinutes(), at.getUTCSeconds()];
  const dayOfMonth = Number(tomorrow.slice(8, 10));
  const spec: ScheduleSpec = {
    kind: 'cron',
    expression: `${s} ${m} ${h} ${dayOfMonth} * *`,
    timezone: 'UTC',
    calendar: 'test-holidays',
    onExcludedDay: 'previous-business-day',
    weekend: [],
  };
  const schedule = compileSchedule(spec, {
    calendars: createCalendarResolver({ 'test-holidays': holidays }),
  });
  const preview = schedule.next(now)!;
  expect(preview.toISOString()).toBe(`${today}T${at.toISOString().slice(11)}`);
  await defineTrigger(ex(), { name: 'rolled', job: 'roller', spec, calendarName: 'test-holidays' }, preview);
  const scheduler = testScheduler(database).registerJob('roller', Noop);
  await scheduler.start();
  const [event] = await waitForEvents(scheduler, 'execution:finished', 1, (e) => e.trigger === 'rolled');
  await scheduler.stop();
  expect(event!.scheduledAt).toEqual(preview);
  const { rows } = await sql<{
    next_fire_at: Date;
  }>`SELECT next_fire_at FROM ${sql.table(`${database.schema}.triggers`)} WHERE name = 'rolled'`.execute(
    database.db,
  );
  // The engine advanced from the rolled fire to the following month's, exactly as the preview says.
  expect(rows[0]!.next_fire_at).toEqual(schedule.next(preview));
});
