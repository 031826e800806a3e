/**
 * The dashboard's server side on real PostgreSQL, through fastify's inject: the public shell and its
 * caching, the cookie session under the unchanged guard, the read endpoints the pages use (history
 * pages by keyset cursor, the overview, executions, the schedule ahead, a trigger's next fires and month
 * with its holiday), the YAML source position, and the live stream's fan-out.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import pino from 'pino';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerAdminApi } from '../../../src/api/admin-api.js';
import { buildAdminApp } from '../../../src/cli/admin-server.js';
import type { Scheduler } from '../../../src/scheduler.js';
import type { Executor } from '../../../src/store/executor.js';
import { upsertCalendar } from '../../../src/store/definition-store.js';
import { SchedulerEventBus } from '../../../src/events/scheduler-events.js';
import { useTestSchema } from '../../support/schema.js';
import { testScheduler } from '../../support/scheduler.js';
import { defineJob, defineTrigger } from '../../support/fixtures.js';
import { seedAdminState } from '../cli/admin-fixtures.js';

const ADMIN = 'dashboard-admin-token-0123';
const READ = 'dashboard-read-token-01234';
const HOST = '127.0.0.1:8080';

const database = useTestSchema();
let ex: Executor;
let scheduler: Scheduler;
let app: FastifyInstance;
let uiRoot: string;
let yamlDir: string;
const bus = new SchedulerEventBus();

beforeAll(async () => {
  ex = { db: database.db, schema: database.schema };
  scheduler = testScheduler(database);
  uiRoot = mkdtempSync(join(tmpdir(), 'belfry-ui-'));
  writeFileSync(
    join(uiRoot, 'index.html'),
    '<!doctype html><title>Belfry</title><script src="/ui/assets/app-1.js"></script>',
  );
  mkdirSync(join(uiRoot, 'assets'));
  writeFileSync(join(uiRoot, 'assets', 'app-1.js'), `console.log(${JSON.stringify('x'.repeat(4000))});`);
  yamlDir = mkdtempSync(join(tmpdir(), 'belfry-yaml-'));
  writeFileSync(
    join(yamlDir, 'a.yaml'),
    'jobs:\n  report: { module: ./r.mjs }\ntriggers:\n  first: { job: report, every: 1h }\n  report-hourly:\n    job: report\n    every: 1h\n',
  );
  await seedAdminState(ex);
  app = await buildAdminApp({
    scheduler,
    host: '127.0.0.1',
    token: ADMIN,
    readToken: READ,
    rateLimit: false,
    logger: pino({ level: 'silent' }),
    plugins: [
      (instance) =>
        registerAdminApi(instance, {
          scheduler: { executor: scheduler.executor, logger: scheduler.logger, on: bus.on.bind(bus) },
          dashboard: {
            root: uiRoot,
            definitionFiles: [join(yamlDir, 'a.yaml')],
            traceUrlTemplate: 'http://t/{traceId}',
          },
        }),
    ],
  });
});
afterAll(async () => {
  await app?.close();
  rmSync(uiRoot, { recursive: true, force: true });
  rmSync(yamlDir, { recursive: true, force: true });
});

const get = (url: string, headers: Record<string, string> = {}) =>
  app.inject({ method: 'GET', url, headers: { host: HOST, ...headers } });
const cookieOf = (token: string) => `belfry_token=${encodeURIComponent(token)}`;

describe('the shell', () => {
  it('is public, redirects / to /ui/, answers deep links with the page, and sets CSP and caching', async () => {
    expect((await get('/')).headers.location).toBe('/ui/');
    const page = await get('/ui/triggers/report-hourly?month=2030-01');
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('<title>Belfry</title>');
    expect(page.headers['cache-control']).toBe('no-cache');
    expect(page.headers['content-security-policy']).toMatch(/default-src 'self'; script-src 'self'/);
    expect(page.headers['x-content-type-options']).toBe('nosniff');
    const again = await get('/ui/', { 'if-none-match': String(page.headers.etag) });
    expect(again.statusCode).toBe(304);
    const asset = await get('/ui/assets/app-1.js', { 'accept-encoding': 'gzip, br' });
    expect(asset.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(asset.headers['content-encoding']).toBe('gzip');
    expect(asset.rawPayload.length).toBeLessThan(1000);
    expect((await get('/ui/assets/missing.js')).statusCode).toBe(404);
    expect((await get('/ui/../package.json')).body).not.toContain('"name"');
  });

  it('keeps the data behind the token: the session, the events, the dashboard endpoints and the API', async () => {
    for (const url of ['/ui/session', '/ui/events', '/ui/api/trigger-source?name=x', '/api/v1/overview'])
      expect((await get(url)).statusCode, url).toBe(401);
  });
});

describe('the session cookie', () => {
  it('is issued on login with a bearer token: HttpOnly, SameSite=Strict, for the whole server', async () => {
    const login = await get('/ui/session', { authorization: `Bearer ${READ}` });
    expect(login.statusCode).toBe(200);
    expect(login.json()).toMatchObject({
      name: 'read-only',
      scope: 'read',
      traceUrlTemplate: 'http://t/{traceId}',
    });
    expect(String(login.headers['set-cookie'])).toBe(
      `belfry_token=${READ}; Max-Age=43200; HttpOnly; SameSite=Strict; Path=/`,
    );
    expect((await get('/ui/session', { authorization: 'Bearer wrong-token-wrong-token' })).statusCode).toBe(
      401,
    );
    const logout = await get('/ui/logout');
    expect(String(logout.headers['set-cookie'])).toMatch(/^belfry_token=; Max-Age=0; HttpOnly/);
  });

  it('stands for its token under every rule of the guard', async () => {
    expect((await get('/api/v1/triggers', { cookie: cookieOf(READ) })).statusCode).toBe(200);
    expect((await get('/api/v1/triggers', { cookie: `${cookieOf('not-a-token-at-all')}` })).statusCode).toBe(
      401,
    );
    const post = (cookie: string, headers: Record<string, string> = {}) =>
      app.inject({
        method: 'POST',
        url: '/api/v1/triggers/sync-often/pause',
        headers: { host: HOST, cookie, 'content-type': 'application/json', ...headers },
        payload: '{}',
      });
    expect((await post(cookieOf(READ))).json()).toMatchObject({ code: 'BELFRY_ERR_READ_ONLY_TOKEN' });
    expect((await post(cookieOf(ADMIN), { origin: 'http://evil.example' })).json()).toMatchObject({
      code: 'BELFRY_ERR_CROSS_ORIGIN',
    });
    expect((await post(cookieOf(ADMIN), { 'content-type': 'text/plain' })).json()).toMatchObject({
      code: 'BELFRY_ERR_NOT_JSON',
    });
    expect((await post(cookieOf(ADMIN), { host: 'evil.example' })).json()).toMatchObject({
      code: 'BELFRY_ERR_HOST_NOT_ALLOWED',
    });
    const { rows } = await sql<{
      state: string;
    }>`SELECT state FROM ${sql.table(`${ex.schema}.triggers`)} WHERE name = 'sync-often'`.execute(ex.db);
    expect(rows[0]!.state).toBe('waiting');
    const ok = await post(cookieOf(ADMIN), { origin: `http://${HOST}` });
    expect(ok.statusCode).toBe(200);
    await app.inject({
      method: 'POST',
      url: '/api/v1/triggers/sync-often/resume',
      headers: { host: HOST, cookie: cookieOf(ADMIN), 'content-type': 'application/json' },
    });
  });
});

describe('the read endpoints', () => {
  const api = async <T>(url: string) => {
    const response = await get(`/api/v1${url}`, { authorization: `Bearer ${READ}` });
    expect(response.statusCode, response.body).toBe(200);
    return response.json<T>();
  };

  it('pages the history by keyset cursor, ties included, with nothing missed or repeated', async () => {
    // 25 attempts sharing one scheduled time, beside the fixture's history.
    await defineJob(ex, 'tie');
    await defineTrigger(
      ex,
      { name: 'tie', job: 'tie', group: 'ties', spec: { kind: 'interval', everyMs: 60_000 } },
      new Date('2099-01-01T00:00:00Z'),
    );
    await sql`
      WITH f AS (
        INSERT INTO ${sql.table(`${ex.schema}.fires`)} (trigger_name, trigger_group, job_name, scheduled_at)
        SELECT 'tie', 'ties', 'tie', date_trunc('second', now()) - interval '1 hour' FROM generate_series(1, 25)
        RETURNING id, scheduled_at)
      INSERT INTO ${sql.table(`${ex.schema}.executions`)} (fire_id, scheduled_at, attempt, job_name, status)
      SELECT id, scheduled_at, 1, 'tie', 'succeeded' FROM f`.execute(ex.db);
    const all = await api<{ executionId: string }[]>('/history?limit=1000');
    const seen: string[] = [];
    let before: string | null = null;
    let pages = 0;
    do {
      const page: { rows: { executionId: string }[]; next: string | null } = await api(
        `/history/page?limit=7${before ? `&before=${encodeURIComponent(before)}` : ''}`,
      );
      seen.push(...page.rows.map((r) => r.executionId));
      before = page.next;
      pages += 1;
    } while (before && pages < 50);
    expect(seen).toEqual(all.map((r) => r.executionId));
    expect(new Set(seen).size).toBe(seen.length);
    const filtered = await api<{ rows: { trigger: string }[] }>('/history/page?trigger=tie&limit=100');
    expect(filtered.rows).toHaveLength(25);
    expect(
      (await get('/api/v1/history/page?before=nonsense', { authorization: `Bearer ${READ}` })).statusCode,
    ).toBe(400);
  });

  it('gives the overview, an execution with its attempts, and what runs now', async () => {
    const overview = await api<{
      lastDay: { failed: number };
      lastHour: { perMinute: number[] };
      leader: { holderName: string };
    }>('/overview');
    expect(overview.lastDay.failed).toBe(2);
    expect(overview.lastHour.perMinute).toHaveLength(60);
    expect(overview.leader.holderName).toBe('replica-a');
    const failed = await api<{ executionId: string }[]>('/history?status=failed');
    const detail = await api<{
      execution: { status: string };
      attempts: { attempt: number; status: string }[];
    }>(`/executions/${failed[0]!.executionId}`);
    expect(detail.execution.status).toBe('failed');
    expect(detail.attempts.map((a) => [a.attempt, a.status])).toEqual([
      [1, 'failed'],
      [2, 'succeeded'],
    ]);
    expect((await get('/api/v1/executions/999999999', { authorization: `Bearer ${READ}` })).statusCode).toBe(
      404,
    );
    expect(await api<unknown[]>('/executions/running')).toEqual([]);
    // Stuck: a retry pending for 5 minutes past its time, and an attempt running on a stopped replica.
    await sql`
      UPDATE ${sql.table(`${ex.schema}.executions`)} e SET status = 'pending', run_at = now() - interval '5 minutes'
       WHERE e.id = ${failed[0]!.executionId}`.execute(ex.db);
    await sql`
      UPDATE ${sql.table(`${ex.schema}.executions`)} e SET status = 'running', finished_at = NULL,
             instance_id = (SELECT id FROM ${sql.table(`${ex.schema}.instances`)} WHERE name = 'replica-b')
       WHERE e.id = (SELECT max(id) FROM ${sql.table(`${ex.schema}.executions`)} WHERE job_name = 'sync')`.execute(
      ex.db,
    );
    const stuck = await api<{ stuck: { reason: string; status: string }[] }>('/overview');
    expect(stuck.stuck.map((s) => [s.status, s.reason]).sort()).toEqual([
      ['pending', 'pending too long'],
      ['running', 'running on a gone instance'],
    ]);
    expect((await api<{ instance: string }[]>('/executions/running')).map((r) => r.instance)).toEqual([
      'replica-b',
    ]);
  });

  it('computes the schedule ahead, a trigger’s next fires with the holiday explained, and its month', async () => {
    await upsertCalendar(ex, {
      name: 'office',
      spec: { kind: 'holiday', dates: [{ date: '2031-01-02', name: 'Bridge day' }] },
      source: 'test',
    });
    await defineJob(ex, 'daily');
    await defineTrigger(
      ex,
      {
        name: 'daily',
        job: 'daily',
        group: 'days',
        spec: { kind: 'cron', expression: '0 9 * * *', timezone: 'UTC', calendar: 'office' },
        calendarName: 'office',
      },
      new Date('2031-01-01T09:00:00Z'),
    );
    await defineTrigger(
      ex,
      { name: 'soon', job: 'daily', group: 'soon', spec: { kind: 'interval', everyMs: 600_000 } },
      new Date(Math.ceil(Date.now() / 600_000) * 600_000),
    );
    const ahead = await api<{ perMinute: number[]; triggers: number; groups: string[] }>('/schedule/ahead');
    expect(ahead.perMinute).toHaveLength(1440);
    expect(ahead.groups).toEqual(expect.arrayContaining(['days', 'reports', 'sync', 'ties']));
    const soon = await api<{ fires: number; triggers: number }>('/schedule/ahead?group=soon');
    // Every 10 minutes from the next round 10 minutes: 144 fires in 24 hours (one either way at the edges).
    expect(soon.triggers).toBe(1);
    expect(soon.fires).toBeGreaterThanOrEqual(143);
    expect(soon.fires).toBeLessThanOrEqual(145);
    const schedule = await api<{
      words: string;
      next: { at: string; skipped?: { date: string; reason: string }[] }[];
    }>('/triggers/daily/schedule?count=3');
    expect(schedule.words).toBe('every day at 09:00 (UTC), except days the calendar office excludes');
    expect(schedule.next.map((f) => f.at)).toEqual([
      '2031-01-01T09:00:00.000Z',
      '2031-01-03T09:00:00.000Z',
      '2031-01-04T09:00:00.000Z',
    ]);
    expect(schedule.next[1]!.skipped).toEqual([
      expect.objectContaining({ date: '2031-01-02', reason: 'Bridge day', calendar: 'office' }),
    ]);
    const month = await api<{
      days: { date: string; fires: string[]; excluded: { reason: string } | null }[];
    }>('/triggers/daily/month?month=2031-01');
    expect(month.days).toHaveLength(31);
    expect(month.days[1]).toMatchObject({
      date: '2031-01-02',
      fires: [],
      excluded: { reason: 'Bridge day' },
    });
    expect(month.days[2]!.fires).toEqual(['2031-01-03T09:00:00.000Z']);
  });

  it('answers a completed trigger’s schedule and month (no fires ahead), and 404 for an unknown one', async () => {
    await defineJob(ex, 'done');
    await defineTrigger(
      ex,
      { name: 'done', job: 'done', spec: { kind: 'cron', expression: '0 9 * * *', timezone: 'UTC' } },
      new Date('2031-01-01T09:00:00Z'),
    );
    await sql`UPDATE ${sql.table(`${ex.schema}.triggers`)} SET state = 'complete', next_fire_at = NULL
               WHERE name = 'done'`.execute(ex.db);
    const schedule = await api<{ trigger: string; next: unknown[] }>('/triggers/done/schedule');
    expect(schedule).toMatchObject({ trigger: 'done', next: [] });
    const month = await api<{ days: { fires: string[] }[] }>('/triggers/done/month?month=2031-01');
    expect(month.days).toHaveLength(31);
    const unknown = await get('/api/v1/triggers/nope/schedule', { authorization: `Bearer ${READ}` });
    expect(unknown.statusCode).toBe(404);
  });

  it('says which YAML file and line a trigger comes from', async () => {
    const source = await get('/ui/api/trigger-source?name=report-hourly', { cookie: cookieOf(READ) });
    expect(source.json()).toEqual({
      trigger: 'report-hourly',
      position: { file: join(yamlDir, 'a.yaml'), line: 5, column: 3 },
    });
    const none = await get('/ui/api/trigger-source?name=sync-often', { cookie: cookieOf(READ) });
    expect(none.json()).toMatchObject({ position: null });
  });
});

describe('the live stream', () => {
  it('streams the bus’s events in batches to every browser, and ends the streams on close', async () => {
    const address = await app.listen({ host: '127.0.0.1', port: 0 });
    const open = () =>
      fetch(`${address}/ui/events`, { headers: { cookie: cookieOf(READ) } }).then((r) => {
        expect(r.headers.get('content-type')).toMatch(/^text\/event-stream/);
        return r.body!.getReader();
      });
    const readers = await Promise.all([open(), open()]);
    const decoder = new TextDecoder();
    const readUntil = async (reader: ReadableStreamDefaultReader<Uint8Array>, text: string) => {
      let seen = '';
      while (!seen.includes(text)) seen += decoder.decode((await reader.read()).value);
      return seen;
    };
    for (const reader of readers) await readUntil(reader, 'event: hello');
    const at = new Date('2030-01-01T00:00:00Z');
    const fired = {
      executionId: '1',
      fireId: '1',
      job: 'j',
      trigger: 't',
      group: 'g',
      scheduledAt: at,
      firedAt: at,
      attempt: 1,
      instanceId: 'i',
    };
    bus.emit('trigger:fired', fired);
    bus.emit('leader:elected', { instanceId: 'i', epoch: 7 });
    for (const reader of readers) {
      const text = await readUntil(reader, '"epoch":7');
      const data = JSON.parse(/data: (\[.*\])/.exec(text)![1]!) as { type: string }[];
      expect(data.map((e) => e.type)).toEqual(['fired', 'leader']);
    }
    await app.close();
    for (const reader of readers) expect((await reader.read()).done || (await reader.read()).done).toBe(true);
  });
});
