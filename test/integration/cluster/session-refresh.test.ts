/**
 * Issue 10, item 7: NOTIFYs sent while a replica's session is down are lost. When the session comes back
 * the replica re-reads what they would have told it, so it does not go on with a stale calendar.
 */
import { expect, it } from 'vitest';
import { sql } from 'kysely';
import pg from 'pg';
import { testDatabaseUrl, useTestSchema } from '../../support/schema.js';
import { testScheduler, waitForEvents } from '../../support/scheduler.js';
import { defineJob, defineTrigger } from '../../support/fixtures.js';
import { inTransaction, notifyChange } from '../../../src/store/executor.js';
import { upsertCalendar } from '../../../src/store/definition-store.js';
import { lockNamespace } from '../../../src/store/lock-keys.js';
import type { CalendarSpec } from '../../../src/time/calendar.js';
import type { ScheduleSpec } from '../../../src/time/schedule.js';

const database = useTestSchema();
const ex = () => ({ db: database.db, schema: database.schema });

class Noop {
  execute() {}
}

const EXCLUDE_EVEN: CalendarSpec = { kind: 'cron', expression: '*/2 * * * * *', dialect: 'cron' };
const EXCLUDE_ODD: CalendarSpec = { kind: 'cron', expression: '1/2 * * * * *', dialect: 'cron' };
const seconds = (at: Date) => Math.round(at.getTime() / 1000);

it('re-reads calendars changed while its session was down, when the session comes back', async () => {
  await upsertCalendar(ex(), { name: 'parity', spec: EXCLUDE_EVEN, source: 'test' });
  await defineJob(ex(), 'tick');
  const spec: ScheduleSpec = { kind: 'cron', expression: '* * * * * *', timezone: 'UTC', calendar: 'parity' };
  const { rows: start } = await sql<{
    at: Date;
  }>`SELECT date_trunc('second', clock_timestamp()) + interval '1 second' AS at`.execute(database.db);
  const first = new Date(start[0]!.at.getTime() + (seconds(start[0]!.at) % 2 === 0 ? 1_000 : 0));
  await defineTrigger(ex(), { name: 'odd', job: 'tick', spec, calendarName: 'parity' }, first);

  const scheduler = testScheduler(database, { instanceName: 'refresher' }).registerJob('tick', Noop);
  const before = waitForEvents(scheduler, 'execution:finished', 2);
  await scheduler.start();
  expect((await before).map((e) => seconds(e.scheduledAt) % 2)).toEqual([1, 1]);

  // Hold the session down: kill it, then take its advisory lock first, so that its reconnect waits in
  // pg_advisory_lock, before LISTEN, for as long as this test likes.
  const { rows: instance } = await sql<{ lock_key: number }>`
    SELECT lock_key FROM ${sql.table(`${database.schema}.instances`)} WHERE id = ${scheduler.instanceId}`.execute(
    database.db,
  );
  const blocker = new pg.Client({ connectionString: testDatabaseUrl() });
  await blocker.connect();
  await blocker.query(`SET lock_timeout = '2s'`);
  const restored = waitForEvents(scheduler, 'database:available', 1, (e) => e.service === 'session', 30_000);
  try {
    for (let attempt = 1; ; attempt += 1) {
      await blocker.query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'belfry-session:refresher'`,
      );
      try {
        await blocker.query('SELECT pg_advisory_lock($1, $2)', [
          lockNamespace(database.schema),
          instance[0]!.lock_key,
        ]);
        break;
      } catch (error) {
        // The reconnect won the race for the lock: kill it again.
        if (attempt >= 5) throw error;
      }
    }
    // The calendar changes, and the NOTIFY that says so reaches nobody.
    await inTransaction(ex(), async (tx) => {
      await upsertCalendar(tx, { name: 'parity', spec: EXCLUDE_ODD, source: 'test' });
      await notifyChange(tx, 'calendars');
    });
  } finally {
    await blocker.end();
  }
  await restored;
  const { rows: back } = await sql<{ at: Date }>`SELECT clock_timestamp() AS at`.execute(database.db);
  // The fire planned before the refresh may still be odd; every one after it follows the new calendar.
  const settled = back[0]!.at.getTime() + 2_500;
  const after = await waitForEvents(
    scheduler,
    'execution:finished',
    2,
    (e) => e.scheduledAt.getTime() >= settled,
    15_000,
  );
  await scheduler.stop();
  expect(after.map((e) => seconds(e.scheduledAt) % 2)).toEqual([0, 0]);
});
