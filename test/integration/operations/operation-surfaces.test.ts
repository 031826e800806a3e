/**
 * The operations through their surfaces, on real PostgreSQL: the admin API (dead letters: list, bulk
 * retry as a dry run then confirmed, discard; retry and re-run; audited with who asked), the `belfry`
 * command as a real process (history --dead, retry, rerun, backfill run twice creating nothing the
 * second time, errors that name the state), and the library's deadLetters().
 */
import { sql } from 'kysely';
import pino from 'pino';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerAdminApi } from '../../../src/api/admin-api.js';
import { buildAdminApp } from '../../../src/cli/admin-server.js';
import type { Scheduler } from '../../../src/scheduler.js';
import type { Executor } from '../../../src/store/executor.js';
import { defineJob, defineTrigger } from '../../support/fixtures.js';
import { useTestSchema } from '../../support/schema.js';
import { testScheduler, waitForEvents } from '../../support/scheduler.js';
import { runBelfry } from '../cli/belfry-run.js';

const database = useTestSchema();
const ex = (): Executor => ({ db: database.db, schema: database.schema });
const t = (name: string) => sql.table(`${database.schema}.${name}`);
let scheduler: Scheduler;
let app: FastifyInstance;

class Boom {
  execute() {
    throw new Error('boom');
  }
}
class Ok {
  execute() {
    return { ok: true };
  }
}
class Slow {
  async execute() {
    await new Promise((resolve) => setTimeout(resolve, 1_500));
  }
}

async function call(options: InjectOptions) {
  const headers = options.method === 'GET' ? {} : { 'content-type': 'application/json' };
  const response = await app.inject({ ...options, headers });
  return { status: response.statusCode, body: JSON.parse(response.body) as never };
}

beforeAll(async () => {
  await defineJob(ex(), 'boom');
  await defineJob(ex(), 'ok');
  await defineJob(ex(), 'tick');
  await defineJob(ex(), 'slow');
  await defineTrigger(
    ex(),
    { name: 'slow-every-minute', job: 'slow', spec: { kind: 'interval', everyMs: 60_000 } },
    new Date('2099-01-01T00:00:00Z'),
  );
  // Its next fire is far ahead: only the backfill fires it.
  await defineTrigger(
    ex(),
    { name: 'tick-every-minute', job: 'tick', spec: { kind: 'interval', everyMs: 60_000 } },
    new Date('2099-01-01T00:00:00Z'),
  );
  scheduler = testScheduler(database)
    .registerJob('boom', Boom)
    .registerJob('ok', Ok)
    .registerJob('tick', Ok)
    .registerJob('slow', Slow);
  await scheduler.start();
  app = await buildAdminApp({
    scheduler,
    host: '127.0.0.1',
    logger: pino({ level: 'silent' }),
    plugins: [(instance) => registerAdminApi(instance, { scheduler })],
  });
});

afterAll(async () => {
  await app?.close();
  await scheduler?.stop();
});

describe('dead letters, retry and re-run', () => {
  it('lists, bulk-retries (dry run, then confirmed), discards; every change audited with who asked', async () => {
    const failed = waitForEvents(scheduler, 'execution:finished', 3, (e) => e.job === 'boom');
    for (let i = 0; i < 3; i += 1) await scheduler.fireNow('boom');
    await failed;
    const listed = await call({ method: 'GET', url: '/api/v1/dead-letters?job=boom' });
    expect(listed.status).toBe(200);
    expect(listed.body).toHaveLength(3);
    expect((listed.body as { error: string }[])[0]!.error).toBe('Error: boom');
    expect(await scheduler.deadLetters({ job: 'boom' })).toHaveLength(3);

    const dry = await call({ method: 'POST', url: '/api/v1/dead-letters/retry', payload: { job: 'boom' } });
    expect(dry.status).toBe(200);
    expect(dry.body).toMatchObject({ confirmed: false, retried: [] });
    expect((dry.body as { matched: unknown[] }).matched).toHaveLength(3);
    const { rows: none } = await sql<{ n: number }>`
      SELECT count(*)::int AS n FROM ${t('executions')} WHERE job_name = 'boom' AND attempt > 1`.execute(
      database.db,
    );
    expect(none[0]!.n).toBe(0);

    const again = waitForEvents(
      scheduler,
      'execution:finished',
      2,
      (e) => e.job === 'boom' && e.attempt === 2,
    );
    const confirmed = await call({
      method: 'POST',
      url: '/api/v1/dead-letters/retry',
      payload: { job: 'boom', limit: 2, confirm: true },
    });
    expect(confirmed.body).toMatchObject({ confirmed: true });
    expect((confirmed.body as { retried: { attempt: number }[] }).retried.map((r) => r.attempt)).toEqual([
      2, 2,
    ]);
    await again;
    const { rows: asked } = await sql<{ requested: string; requested_by: string }>`
      SELECT requested, requested_by FROM ${t('executions')} WHERE job_name = 'boom' AND attempt = 2`.execute(
      database.db,
    );
    expect(asked).toEqual([
      { requested: 'retry', requested_by: 'api:anonymous' },
      { requested: 'retry', requested_by: 'api:anonymous' },
    ]);

    const [letter] = listed.body as { fireId: string }[];
    const discarded = await call({ method: 'POST', url: `/api/v1/dead-letters/${letter!.fireId}/discard` });
    expect(discarded).toEqual({ status: 200, body: { fireId: letter!.fireId, discarded: true } });
    const after = await call({ method: 'GET', url: '/api/v1/dead-letters?job=boom' });
    expect((after.body as { fireId: string }[]).map((row) => row.fireId)).not.toContain(letter!.fireId);
    const twice = await call({ method: 'POST', url: `/api/v1/dead-letters/${letter!.fireId}/discard` });
    expect(twice.status).toBe(409);
    const { rows: audit } = await sql<{ operation: string; status: number }>`
      SELECT operation, status FROM ${t('admin_audit')} ORDER BY id`.execute(database.db);
    expect(audit).toEqual([
      { operation: 'retryDeadLetters', status: 200 },
      { operation: 'retryDeadLetters', status: 200 },
      { operation: 'discardDeadLetter', status: 200 },
      { operation: 'discardDeadLetter', status: 409 },
    ]);
  });

  it('belfry history --dead, retry and rerun: a new attempt of the same fire, recorded with who asked', async () => {
    const dead = await runBelfry(database.schema, ['history', '--dead', '--job', 'boom', '--json']);
    expect(dead.code, dead.stderr).toBe(0);
    const letters = JSON.parse(dead.stdout) as { executionId: string; fireId: string }[];
    expect(letters.length).toBeGreaterThanOrEqual(2);

    const retried = waitForEvents(scheduler, 'execution:finished', 1, (e) => e.fireId === letters[0]!.fireId);
    const retry = await runBelfry(database.schema, ['retry', letters[0]!.executionId]);
    expect(retry.code, retry.stderr).toBe(0);
    expect(retry.stdout).toMatch(
      new RegExp(`^retry: fire ${letters[0]!.fireId} .* is pending as execution \\d+`),
    );
    await retried;

    const ran = waitForEvents(scheduler, 'execution:finished', 1, (e) => e.job === 'ok');
    await scheduler.fireNow('ok');
    const [ok] = await ran;
    await expect(scheduler.retry(ok!.executionId)).rejects.toThrow(/succeeded: use rerun/);
    const rerunDone = waitForEvents(
      scheduler,
      'execution:finished',
      1,
      (e) => e.job === 'ok' && e.attempt === 2,
    );
    expect(await scheduler.rerun(ok!.fireId, 'ops@example')).toMatchObject({
      fireId: ok!.fireId,
      attempt: 2,
    });
    await rerunDone;
    const { rows } = await sql<{ status: string; requested: string; requested_by: string }>`
      SELECT status, requested, requested_by FROM ${t('job_history')}
       WHERE execution_id IN (${ok!.executionId}, (SELECT max(id) FROM ${t('executions')}))
       ORDER BY execution_id`.execute(database.db);
    expect(rows).toEqual([
      { status: 'succeeded', requested: null, requested_by: null },
      { status: 'succeeded', requested: 'rerun', requested_by: 'ops@example' },
    ]);
    const { rows: cli } = await sql<{ requested_by: string }>`
      SELECT requested_by FROM ${t('executions')} WHERE fire_id = ${letters[0]!.fireId} ORDER BY attempt DESC LIMIT 1`.execute(
      database.db,
    );
    expect(cli[0]!.requested_by).toMatch(/^cli:/);
    await expect(scheduler.cancel('999999999')).rejects.toThrow(/unknown execution 999999999/);
  });
});

describe('backfill', () => {
  it('creates the missing fires of a past window once, throttled and marked; a second run creates nothing', async () => {
    const { rows } = await sql<{ now: Date }>`SELECT now() AS now`.execute(database.db);
    const to = new Date(Math.floor(rows[0]!.now.getTime() / 60_000) * 60_000 - 60_000);
    const from = new Date(to.getTime() - 5 * 60_000);
    const request = { trigger: 'tick-every-minute', from, to, overlap: 'allow' as const, rate: 50 };
    const dry = await scheduler.backfill({ ...request, dryRun: true });
    expect(dry).toMatchObject({ dryRun: true, scheduled: 5, alreadyFired: 0 });
    expect(dry.created).toHaveLength(5);

    const ran = waitForEvents(scheduler, 'execution:finished', 5, (e) => e.trigger === 'tick-every-minute');
    const first = await scheduler.backfill(request);
    expect(first).toMatchObject({ dryRun: false, scheduled: 5, alreadyFired: 0 });
    expect(first.created.map((at) => at.getTime())).toEqual(dry.created.map((at) => at.getTime()));
    const second = await runBelfry(database.schema, [
      'backfill',
      'tick-every-minute',
      '--from',
      from.toISOString(),
      '--to',
      to.toISOString(),
      '--json',
    ]);
    expect(second.code, second.stderr).toBe(0);
    expect(JSON.parse(second.stdout)).toMatchObject({ scheduled: 5, created: [], alreadyFired: 5 });
    await ran;

    const { rows: history } = await sql<{ origin: string; status: string; run_at: Date }>`
      SELECT h.origin, h.status, e.run_at FROM ${t('job_history')} h JOIN ${t('executions')} e ON e.id = h.execution_id
       WHERE h.trigger = 'tick-every-minute' ORDER BY h.scheduled_at`.execute(database.db);
    expect(history).toHaveLength(5);
    expect(history.every((row) => row.origin === 'backfill' && row.status === 'succeeded')).toBe(true);
    // Throttled: one attempt every 1/rate s (20 ms at --rate 50), oldest first.
    const gaps = history.slice(1).map((row, i) => row.run_at.getTime() - history[i]!.run_at.getTime());
    expect(gaps.every((gap) => Math.abs(gap - 20) <= 1)).toBe(true);

    const later = new Date(rows[0]!.now.getTime() + 3_600_000);
    await expect(scheduler.backfill({ ...request, to: later })).rejects.toThrow(/is in the future/);
  });

  it('with overlap skip, records skipped a backfilled attempt due while another of its trigger runs', async () => {
    const { rows } = await sql<{ now: Date }>`SELECT now() AS now`.execute(database.db);
    const to = new Date(Math.floor(rows[0]!.now.getTime() / 60_000) * 60_000 - 60_000);
    const from = new Date(to.getTime() - 4 * 60_000);
    const settled = waitForEvents(
      scheduler,
      'execution:finished',
      1,
      (e) => e.trigger === 'slow-every-minute',
    );
    // Four fires 20 ms apart; each runs 1.5 s: the first runs, the others come due while it does.
    const result = await scheduler.backfill({ trigger: 'slow-every-minute', from, to, rate: 50 });
    expect(result.created).toHaveLength(4);
    await settled;
    const { rows: statuses } = await sql<{ status: string; n: number }>`
      SELECT status, count(*)::int AS n FROM ${t('job_history')} WHERE trigger = 'slow-every-minute'
       GROUP BY status ORDER BY status`.execute(database.db);
    expect(statuses).toEqual([
      { status: 'skipped', n: 3 },
      { status: 'succeeded', n: 1 },
    ]);
  });
});
