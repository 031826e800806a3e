/** Engine semantics on real PostgreSQL: concurrency policy, timeouts, retries, one-offs, pause/resume, misfires. */
import { afterEach, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { useTestSchema } from '../support/schema.js';
import { testScheduler, waitForEvents } from '../support/scheduler.js';
import { defineJob, defineTrigger } from '../support/fixtures.js';
import type { Scheduler } from '../../src/scheduler.js';
import type { JobContext } from '../../src/jobs/job.js';

const database = useTestSchema();
let scheduler: Scheduler | undefined;
const ex = () => ({ db: database.db, schema: database.schema });

afterEach(async () => {
  await scheduler?.stop();
  scheduler = undefined;
  await sql`TRUNCATE ${sql.table(`${database.schema}.fires`)}, ${sql.table(`${database.schema}.executions`)}, ${sql.table(`${database.schema}.triggers`)}, ${sql.table(`${database.schema}.jobs`)} CASCADE`.execute(
    database.db,
  );
});

async function dbNow(): Promise<Date> {
  const { rows } = await sql<{ now: Date }>`SELECT clock_timestamp() AS now`.execute(database.db);
  return rows[0]!.now;
}

async function history(trigger?: string) {
  const { rows } = await sql<{
    trigger: string;
    scheduled_at: Date;
    attempt: number;
    status: string;
    error: string | null;
    instance: string;
  }>`
    SELECT trigger, scheduled_at, attempt, status, error, instance FROM ${sql.table(`${database.schema}.job_history`)}
     WHERE ${trigger ?? null}::text IS NULL OR trigger = ${trigger ?? null}
     ORDER BY scheduled_at, attempt`.execute(database.db);
  return rows;
}

class SlowJob {
  async execute(ctx: JobContext<{ ms: number }>) {
    await sleep(ctx.data.ms, undefined, { signal: ctx.signal }).catch(() => {});
  }
}

describe('concurrency: forbid', () => {
  it('records a fire that finds the previous execution still running as skipped', async () => {
    scheduler = testScheduler(database).registerJob('slow', SlowJob, { concurrency: 'forbid' });
    await defineJob(ex(), 'slow', { concurrency: 'forbid', data: { ms: 700 } });
    await defineTrigger(
      ex(),
      { name: 'fast', job: 'slow', spec: { kind: 'interval', everyMs: 200 } },
      await dbNow(),
    );
    await scheduler.start();
    await waitForEvents(scheduler, 'execution:finished', 2);
    await scheduler.stop();
    const rows = await history('fast');
    const succeeded = rows.filter((r) => r.status === 'succeeded');
    const skipped = rows.filter((r) => r.status === 'skipped');
    expect(succeeded.length).toBeGreaterThanOrEqual(2);
    expect(skipped.length).toBeGreaterThanOrEqual(3);
    expect(skipped[0]!.error).toMatch(/still running/);
  });
});

describe('timeouts and retries', () => {
  it('aborts the signal at the timeout and records timed_out', async () => {
    let aborted = false;
    class Hang {
      async execute(ctx: JobContext) {
        await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve()));
        aborted = true;
      }
    }
    scheduler = testScheduler(database).registerJob('hang', Hang);
    await defineJob(ex(), 'hang', { timeoutMs: 150 });
    await scheduler.start();
    await scheduler.fireNow('hang');
    const [event] = await waitForEvents(scheduler, 'execution:finished', 1);
    expect(event!.status).toBe('timed_out');
    expect(aborted).toBe(true);
  });

  it('retries with backoff as new attempts of the same fire, with the same idempotency key', async () => {
    const keys: string[] = [];
    class Flaky {
      execute(ctx: JobContext) {
        keys.push(ctx.idempotencyKey);
        if (ctx.fire.attempt < 3) throw new Error(`boom ${ctx.fire.attempt}`);
        return 'done';
      }
    }
    scheduler = testScheduler(database).registerJob('flaky', Flaky);
    await defineJob(ex(), 'flaky', { maxAttempts: 3, backoff: { initialMs: 100, maxMs: 200 } });
    await scheduler.start();
    const trigger = await scheduler.fireNow('flaky', { n: 1 });
    const events = await waitForEvents(scheduler, 'execution:finished', 3);
    expect(events.map((e) => e.status)).toEqual(['failed', 'failed', 'succeeded']);
    expect(new Set(keys).size).toBe(1);
    const rows = await history(trigger);
    expect(rows.map((r) => [r.attempt, r.status])).toEqual([
      [1, 'failed'],
      [2, 'failed'],
      [3, 'succeeded'],
    ]);
    expect(rows[0]!.error).toBe('Error: boom 1');
  });

  it('does not retry data the job schema rejects', async () => {
    class Typed {
      static schema = z.object({ n: z.number() });
      execute() {}
    }
    scheduler = testScheduler(database).registerJob('typed', Typed);
    await defineJob(ex(), 'typed', { maxAttempts: 5 });
    await scheduler.start();
    await scheduler.fireNow('typed', { n: 'not a number' });
    const [event] = await waitForEvents(scheduler, 'execution:finished', 1);
    expect(event).toMatchObject({ status: 'failed', retryAfterMs: null });
    expect(event!.error).toMatch(/n: /);
  });
});

describe('one-offs, pause and resume', () => {
  it('scheduleAt fires once at the instant (by the database clock), recorded ahead and started on time', async () => {
    let startedAt = 0;
    class Noop {
      execute() {
        startedAt = Date.now(); // the database runs on this machine: one wall clock
      }
    }
    scheduler = testScheduler(database, { fireAheadMs: 50 }).registerJob('noop', Noop);
    await defineJob(ex(), 'noop');
    await scheduler.start();
    const at = new Date((await dbNow()).getTime() + 400);
    const name = await scheduler.scheduleAt('noop', at);
    const [event] = await waitForEvents(scheduler, 'execution:finished', 1);
    expect(event!.trigger).toBe(name);
    expect(event!.scheduledAt).toEqual(at);
    // The fire may be recorded up to the fire-ahead window early; the job never starts early.
    expect(event!.firedAt.getTime()).toBeGreaterThanOrEqual(at.getTime() - 50);
    expect(startedAt).toBeGreaterThanOrEqual(at.getTime() - 1);
    expect(startedAt - at.getTime()).toBeLessThan(100);
    const rows = await history(name);
    expect(rows).toHaveLength(1);
  });

  it('a paused trigger does not fire; on resume its misfire policy applies to what it missed', async () => {
    class Noop {
      execute() {}
    }
    scheduler = testScheduler(database).registerJob('noop', Noop);
    await defineJob(ex(), 'noop');
    const start = await dbNow();
    await defineTrigger(
      ex(),
      {
        name: 'p',
        job: 'noop',
        spec: { kind: 'interval', everyMs: 100 },
        misfireThresholdMs: 200,
        misfirePolicy: 'fire-once-now',
      },
      start,
      { paused: true },
    );
    await scheduler.start();
    await sleep(800);
    expect(await history('p')).toEqual([]);
    await scheduler.resume({ trigger: 'p' });
    await waitForEvents(scheduler, 'execution:finished', 1);
    await scheduler.pause({ all: true });
    const rows = await history('p');
    const misfired = rows.filter((r) => r.status === 'misfired');
    expect(misfired.length).toBeGreaterThanOrEqual(6);
    expect(rows.find((r) => r.status === 'succeeded')).toBeDefined();
    // Every scheduled time from the start is accounted for exactly once.
    const times = rows.map((r) => r.scheduled_at.getTime());
    expect(new Set(times).size).toBe(times.length);
    expect(times[0]).toBe(start.getTime());
  });
});
