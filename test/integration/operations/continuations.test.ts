/**
 * Continuations on one replica, real PostgreSQL: `after: { job, on }` fires once per upstream fire (with
 * the upstream's result as ctx.upstream), fan-out, `on: [failed]` only once retries are exhausted, an
 * operator's re-run of the upstream fires nothing more, and fan-in (`after: { all, within }`) fires once
 * per schedule time when all succeeded, and not when one failed.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobContext } from '../../../src/jobs/job.js';
import type { Executor } from '../../../src/store/executor.js';
import type { Scheduler } from '../../../src/scheduler.js';
import { defineAfterTrigger } from './after-trigger.js';
import { loadDefinitions } from '../../../src/config/definition-loader.js';
import { applyDefinitions, planHasChanges } from '../../../src/config/definition-reconciler.js';
import { pruneExpiredFires } from '../../../src/store/retention-store.js';
import { defineJob } from '../../support/fixtures.js';
import { useTestSchema } from '../../support/schema.js';
import { testScheduler, waitForEvents } from '../../support/scheduler.js';

const database = useTestSchema();
const ex = (): Executor => ({ db: database.db, schema: database.schema });
const t = (name: string) => sql.table(`${database.schema}.${name}`);

const contexts = new Map<string, JobContext[]>();
function record(job: string, ctx: JobContext) {
  contexts.set(job, [...(contexts.get(job) ?? []), ctx]);
}
class Extract {
  execute(ctx: JobContext) {
    record('extract', ctx);
    return { rows: 42, at: ctx.fire.scheduledAt.toISOString() };
  }
}
class Load {
  execute(ctx: JobContext) {
    record(ctx.job, ctx);
    return { loaded: true };
  }
}
class Flaky {
  execute(ctx: JobContext) {
    record('flaky', ctx);
    throw new Error(`flaky attempt ${ctx.fire.attempt}`);
  }
}

let scheduler: Scheduler;

beforeAll(async () => {
  for (const job of ['extract', 'load', 'report', 'alert', 'a', 'b', 'joined']) await defineJob(ex(), job);
  await defineJob(ex(), 'flaky', { maxAttempts: 2, backoff: { initialMs: 10, maxMs: 10 } });
  await defineAfterTrigger(ex(), 'load-after-extract', 'load', { job: 'extract', on: ['succeeded'] });
  await defineAfterTrigger(ex(), 'report-after-extract', 'report', { job: 'extract' });
  await defineAfterTrigger(ex(), 'alert-after-flaky', 'alert', { job: 'flaky', on: ['failed'] });
  await defineAfterTrigger(ex(), 'joined-after-a-b', 'joined', { all: ['a', 'b'], withinMs: 60_000 });
  scheduler = testScheduler(database)
    .registerJob('extract', Extract)
    .registerJob('load', Load)
    .registerJob('report', Load)
    .registerJob('alert', Load)
    .registerJob('flaky', Flaky)
    .registerJob('a', Load)
    .registerJob('b', Flaky)
    .registerJob('joined', Load);
  await scheduler.start();
});

afterAll(async () => {
  await scheduler?.stop();
});

async function continuationFires(trigger: string) {
  const { rows } = await sql<{ id: string; upstream_fire_id: string; origin: string; scheduled_at: Date }>`
    SELECT id, upstream_fire_id, origin, scheduled_at FROM ${t('fires')} WHERE trigger_name = ${trigger}`.execute(
    database.db,
  );
  return rows;
}

describe('continuations', () => {
  it('fires each continuation once per upstream fire, with the upstream result as ctx.upstream (fan-out)', async () => {
    const finished = waitForEvents(
      scheduler,
      'execution:finished',
      6,
      (event) => event.job === 'load' || event.job === 'report',
    );
    for (let i = 0; i < 3; i += 1) await scheduler.fireNow('extract');
    await finished;
    const loads = await continuationFires('load-after-extract');
    const reports = await continuationFires('report-after-extract');
    expect(loads).toHaveLength(3);
    expect(reports).toHaveLength(3);
    expect(new Set(loads.map((row) => row.upstream_fire_id)).size).toBe(3);
    expect(loads.every((row) => row.origin === 'continuation')).toBe(true);
    const load = contexts.get('load')![0]!;
    expect(load.upstream).toMatchObject({ job: 'extract', status: 'succeeded', result: { rows: 42 } });
    expect(load.upstreams).toHaveLength(1);
    // The continuation's scheduled time is its upstream's: one idempotency key per chain run.
    expect(load.fire.scheduledAt.toISOString()).toBe((load.upstream!.result as { at: string }).at);
    const { rows } = await sql<{ origin: string; upstream_fire_id: string | null }>`
      SELECT origin, upstream_fire_id FROM ${t('job_history')} WHERE trigger = 'load-after-extract'`.execute(
      database.db,
    );
    expect(rows.every((row) => row.origin === 'continuation' && row.upstream_fire_id !== null)).toBe(true);
  });

  it('fires on: [failed] once the retries are exhausted, not at the first failure', async () => {
    const alerted = waitForEvents(scheduler, 'execution:finished', 1, (event) => event.job === 'alert');
    await scheduler.fireNow('flaky');
    await alerted;
    const flaky = contexts.get('flaky')!;
    expect(flaky.map((ctx) => ctx.fire.attempt)).toEqual([1, 2]);
    const alerts = await continuationFires('alert-after-flaky');
    expect(alerts).toHaveLength(1);
    expect(contexts.get('alert')![0]!.upstream).toMatchObject({ job: 'flaky', status: 'failed' });
  });

  it('fires nothing more when the upstream fire is re-run (the unique key holds)', async () => {
    const [first] = await continuationFires('load-after-extract');
    const rerun = waitForEvents(scheduler, 'execution:finished', 1, (event) => event.job === 'extract');
    await scheduler.rerun(first!.upstream_fire_id);
    await rerun;
    // The re-run's outcome and any continuation commit in one statement: nothing can show up later.
    const next = waitForEvents(scheduler, 'execution:finished', 1, (event) => event.job === 'load');
    await scheduler.fireNow('extract');
    await next;
    const loads = await continuationFires('load-after-extract');
    expect(loads.filter((row) => row.upstream_fire_id === first!.upstream_fire_id)).toHaveLength(1);
    expect(loads).toHaveLength(4);
  });

  it('fires a fan-in once when all upstreams succeeded for the same schedule time, not when one failed', async () => {
    const at = new Date(Math.ceil((Date.now() + 300) / 1000) * 1000);
    // b always fails: a fan-in over a and b never fires.
    const settled = waitForEvents(scheduler, 'execution:finished', 2, (e) => e.job === 'a' || e.job === 'b');
    await scheduler.scheduleAt('a', at);
    await scheduler.scheduleAt('b', at);
    await settled;
    expect(await continuationFires('joined-after-a-b')).toHaveLength(0);
    const { rows } = await sql<{ jobs: string[] }>`SELECT jobs FROM ${t('fan_in_arrivals')}`.execute(
      database.db,
    );
    expect(rows.map((row) => row.jobs)).toEqual([['a']]);

    // Two successes of a and one of b at another time: one fan-in fire, with both upstreams.
    const later = new Date(at.getTime() + 1_000);
    await defineAfterTrigger(ex(), 'report-after-a-load', 'report', { all: ['a', 'load'] });
    const done = waitForEvents(
      scheduler,
      'execution:finished',
      1,
      (e) => e.trigger === 'report-after-a-load',
    );
    await scheduler.scheduleAt('a', later);
    await scheduler.scheduleAt('a', later);
    await scheduler.scheduleAt('load', later);
    await done;
    const fanIns = await continuationFires('report-after-a-load');
    expect(fanIns).toHaveLength(1);
    expect(fanIns[0]!.origin).toBe('fan-in');
    expect(fanIns[0]!.scheduled_at.getTime()).toBe(later.getTime());
    const ctx = contexts.get('report')!.find((c) => c.fire.trigger === 'report-after-a-load')!;
    expect(ctx.upstreams.map((u) => u.job).sort()).toEqual(['a', 'load']);
  });

  it('applies an after: trigger from YAML, which then fires like one written in code; a re-apply changes nothing', async () => {
    const yaml = `triggers:
  alert-after-load:
    job: alert
    after: { job: load, on: [any] }
`;
    const loaded = await loadDefinitions(['chain.yaml'], {
      readFile: async () => yaml,
      knownJobs: ['alert', 'load'],
    });
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
    const plan = await applyDefinitions(ex(), loaded.definitions);
    expect(plan.entries.find((entry) => entry.name === 'alert-after-load')?.action).toBe('add');
    const alerted = waitForEvents(
      scheduler,
      'execution:finished',
      1,
      (e) => e.trigger === 'alert-after-load',
    );
    await scheduler.fireNow('extract');
    await alerted;
    const ctx = contexts.get('alert')!.find((c) => c.fire.trigger === 'alert-after-load')!;
    expect(ctx.upstream).toMatchObject({ job: 'load', status: 'succeeded', result: { loaded: true } });
    expect(planHasChanges(await applyDefinitions(ex(), loaded.definitions))).toBe(false);
  });

  it('pauses and resumes a continuation trigger: paused, it does not fire', async () => {
    expect(await scheduler.pause({ trigger: 'report-after-extract' })).toBe(1);
    const before = (await continuationFires('report-after-extract')).length;
    const loaded = waitForEvents(
      scheduler,
      'execution:finished',
      1,
      (e) => e.trigger === 'load-after-extract',
    );
    await scheduler.fireNow('extract');
    await loaded; // load's continuation committed with extract's outcome, in the same statement as report's would
    expect(await continuationFires('report-after-extract')).toHaveLength(before);
    expect(await scheduler.resume({ trigger: 'report-after-extract' })).toBe(1);
    const { rows } = await sql<{ state: string }>`
      SELECT state FROM ${t('triggers')} WHERE name = 'report-after-extract'`.execute(database.db);
    expect(rows[0]!.state).toBe('complete');
    const reported = waitForEvents(
      scheduler,
      'execution:finished',
      1,
      (e) => e.trigger === 'report-after-extract',
    );
    await scheduler.fireNow('extract');
    await reported;
  });

  it("prunes a fan-in's progress with the history it counted", async () => {
    const count = async () =>
      (await sql<{ n: number }>`SELECT count(*)::int AS n FROM ${t('fan_in_arrivals')}`.execute(database.db))
        .rows[0]!.n;
    expect(await count()).toBeGreaterThan(0);
    await pruneExpiredFires(ex(), { retentionMs: 3_600_000, limit: 1_000 });
    expect(await count()).toBeGreaterThan(0);
    await pruneExpiredFires(ex(), {
      retentionMs: 3_600_000,
      limit: 1_000,
      now: new Date(Date.now() + 7_200_000),
    });
    expect(await count()).toBe(0);
  });
});
