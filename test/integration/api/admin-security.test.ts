/**
 * The admin server's access rules (issue #11, items 5, 6, 10, 11 and 12): Host and Origin checks,
 * JSON-only state changes, read-only and admin tokens, the audit trail, the rate limit, the readiness
 * probe's cache and its own connection, and the server's limits. Through fastify's inject, on real
 * PostgreSQL.
 */
import type { FastifyInstance, InjectOptions } from 'fastify';
import { sql } from 'kysely';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { registerAdminApi } from '../../../src/api/admin-api.js';
import { buildAdminApp, type AdminServerOptions } from '../../../src/cli/admin-server.js';
import type { Scheduler } from '../../../src/scheduler.js';
import type { Executor } from '../../../src/store/executor.js';
import { useTestSchema } from '../../support/schema.js';
import { testScheduler } from '../../support/scheduler.js';
import { seedAdminState, triggerStates } from '../cli/admin-fixtures.js';
import { defineJob } from '../../support/fixtures.js';
import { runBelfry } from '../cli/belfry-run.js';

const ADMIN = 'admin-token-of-enough-length';
const READER = 'reader-token-of-enough-length';
const JSON_TYPE = { 'content-type': 'application/json' };

const database = useTestSchema();
let ex: Executor;
let scheduler: Scheduler;
const apps: FastifyInstance[] = [];

async function build(options: Partial<AdminServerOptions> = {}): Promise<FastifyInstance> {
  const app = await buildAdminApp({
    scheduler,
    host: '127.0.0.1',
    logger: pino({ level: 'silent' }),
    plugins: [(instance) => registerAdminApi(instance, { scheduler })],
    ...options,
  });
  apps.push(app);
  return app;
}

async function status(app: FastifyInstance, options: InjectOptions): Promise<number> {
  return (await app.inject({ ...options, headers: { host: '127.0.0.1:8080', ...options.headers } }))
    .statusCode;
}

beforeAll(async () => {
  ex = { db: database.db, schema: database.schema };
  scheduler = testScheduler(database);
  await seedAdminState(ex);
});
afterAll(async () => {
  for (const app of apps) await app.close();
  await scheduler?.stop();
});

describe('what a browser can do to a server on loopback (item 6)', () => {
  it('refuses a Host that does not name the server (DNS rebinding)', async () => {
    const app = await build();
    const get = (host: string) => status(app, { method: 'GET', url: '/api/v1/triggers', headers: { host } });
    expect(await get('evil.example:8080')).toBe(403);
    expect(await get('127.0.0.1.evil.example')).toBe(403);
    for (const host of ['127.0.0.1:8080', 'localhost:8080', 'LOCALHOST', '[::1]:8080'])
      expect(await get(host)).toBe(200);

    const wide = await build({ host: '0.0.0.0', token: ADMIN, allowedHosts: ['belfry.example.com'] });
    const auth = { authorization: `Bearer ${ADMIN}` };
    const at = (host: string) =>
      status(wide, { method: 'GET', url: '/api/v1/jobs', headers: { host, ...auth } });
    expect(await at('10.1.2.3:8080')).toBe(200);
    expect(await at('belfry.example.com')).toBe(200);
    expect(await at('rebound.example')).toBe(403);
    // Beyond loopback without listed names, the token is the boundary: service names keep working.
    const open = await build({ host: '0.0.0.0', token: ADMIN });
    expect(
      await status(open, { method: 'GET', url: '/api/v1/jobs', headers: { host: 'belfry-1:8080', ...auth } }),
    ).toBe(200);
  });

  it("refuses an Origin that is not the server's own, on reads and changes", async () => {
    const app = await build();
    const before = await triggerStates(ex);
    for (const origin of ['https://evil.example', 'null', 'http://127.0.0.1:9999']) {
      expect(await status(app, { method: 'GET', url: '/api/v1/jobs', headers: { origin } })).toBe(403);
      expect(
        await status(app, {
          method: 'POST',
          url: '/api/v1/cluster/pause',
          headers: { origin, ...JSON_TYPE },
        }),
      ).toBe(403);
    }
    expect(await triggerStates(ex)).toEqual(before);
    expect(
      await status(app, { method: 'GET', url: '/api/v1/jobs', headers: { origin: 'http://127.0.0.1:8080' } }),
    ).toBe(200);
  });

  it('requires application/json on every POST and DELETE, with or without a body', async () => {
    const app = await build();
    const before = await triggerStates(ex);
    const post = (headers: Record<string, string>, payload?: string) =>
      status(app, { method: 'POST', url: '/api/v1/groups/reports/pause', headers, payload });
    expect(await post({})).toBe(415);
    expect(await post({ 'content-type': 'text/plain' }, 'x')).toBe(415);
    expect(await post({ 'content-type': 'application/x-www-form-urlencoded' }, 'a=1')).toBe(415);
    expect(await status(app, { method: 'DELETE', url: '/api/v1/triggers/report-hourly' })).toBe(415);
    expect(await triggerStates(ex)).toEqual(before);
    expect(await post({ 'content-type': 'Application/JSON; charset=utf-8' })).toBe(200);
    expect(await post(JSON_TYPE, '{}')).toBe(200);
    expect(
      await status(app, { method: 'POST', url: '/api/v1/groups/reports/resume', headers: JSON_TYPE }),
    ).toBe(200);
  });
});

describe('tokens and scopes (items 11 and 12)', () => {
  it('lets the read-only token read and the admin token change, with a case-insensitive scheme', async () => {
    const app = await build({ token: ADMIN, readToken: READER });
    const as = (token: string, scheme = 'Bearer') => ({ authorization: `${scheme} ${token}` });
    expect(await status(app, { method: 'GET', url: '/api/v1/triggers', headers: as(READER) })).toBe(200);
    expect(await status(app, { method: 'GET', url: '/api/v1/triggers' })).toBe(401);
    const before = await triggerStates(ex);
    expect(
      await status(app, {
        method: 'POST',
        url: '/api/v1/cluster/pause',
        headers: { ...as(READER), ...JSON_TYPE },
      }),
    ).toBe(403);
    expect(await triggerStates(ex)).toEqual(before);
    for (const scheme of ['bearer', 'BEARER']) {
      expect(
        await status(app, {
          method: 'POST',
          url: '/api/v1/triggers/report-hourly/resume',
          headers: { ...as(ADMIN, scheme), ...JSON_TYPE },
        }),
      ).toBe(200);
    }
    expect(await status(app, { method: 'GET', url: '/readyz' })).not.toBe(401);
  });

  it('parses loopback addresses instead of matching a prefix', async () => {
    const { isLoopbackAddress } = await import('../../../src/api/request-origin.js');
    for (const host of [
      '127.0.0.1',
      '127.1.2.3',
      '::1',
      '[::1]',
      '0:0:0:0:0:0:0:1',
      '::ffff:127.0.0.1',
      'localhost',
    ])
      expect(isLoopbackAddress(host), host).toBe(true);
    for (const host of ['127.evil.example', '10.0.0.1', '::', '0.0.0.0', '128.0.0.1', 'example.com'])
      expect(isLoopbackAddress(host), host).toBe(false);
    await expect(build({ host: '127.evil.example' })).rejects.toThrow(/BELFRY_HTTP_TOKEN/);
  });

  it('sets request and connection timeouts, and reaches one-off triggers of long job names', async () => {
    const app = await build();
    expect(app.initialConfig).toMatchObject({ requestTimeout: 10_000, connectionTimeout: 60_000 });
    const job = 'j'.repeat(200);
    await defineJob(ex, job);
    const fired = await app.inject({ method: 'POST', url: `/api/v1/jobs/${job}/fire`, headers: JSON_TYPE });
    expect(fired.statusCode).toBe(202);
    const trigger = (JSON.parse(fired.body) as { trigger: string }).trigger;
    expect(trigger.length).toBeGreaterThan(240);
    expect((await app.inject({ method: 'GET', url: `/api/v1/triggers/${trigger}` })).statusCode).toBe(200);
  });
});

describe('the audit trail (item 10)', () => {
  it('records every change by token name, target, status and address, and serves it', async () => {
    const app = await build({ token: ADMIN, readToken: READER });
    const admin = { authorization: `Bearer ${ADMIN}`, 'user-agent': 'audit-test', ...JSON_TYPE };
    const started = (await sql<{ now: Date }>`SELECT now() AS now`.execute(ex.db)).rows[0]!.now;
    await app.inject({ method: 'POST', url: '/api/v1/triggers/report-hourly/pause', headers: admin });
    await app.inject({ method: 'POST', url: '/api/v1/triggers/ghost/pause', headers: admin });
    await app.inject({
      method: 'POST',
      url: '/api/v1/jobs/sync/fire',
      headers: admin,
      payload: { data: { password: 'hunter2' } },
    });
    // Refused before any handler: not recorded.
    await app.inject({
      method: 'POST',
      url: '/api/v1/cluster/pause',
      headers: { authorization: `Bearer ${READER}`, ...JSON_TYPE },
    });
    await app.inject({ method: 'GET', url: '/api/v1/jobs', headers: admin });

    const response = await app.inject({
      method: 'GET',
      url: `/api/v1/audit?since=${encodeURIComponent(started.toISOString())}`,
      headers: { authorization: `Bearer ${READER}` },
    });
    expect(response.statusCode).toBe(200);
    const entries = JSON.parse(response.body) as Record<string, unknown>[];
    expect(entries.map(({ operation, status: code }) => [operation, code])).toEqual([
      ['fireJob', 202],
      ['pauseTrigger', 404],
      ['pauseTrigger', 200],
    ]);
    expect(entries[2]).toMatchObject({
      actor: 'admin',
      scope: 'admin',
      method: 'POST',
      path: '/api/v1/triggers/report-hourly/pause',
      target: { name: 'report-hourly' },
      remoteAddress: '127.0.0.1',
      userAgent: 'audit-test',
      instanceId: scheduler.instanceId,
    });
    expect(entries[0]!.target).toEqual({ name: 'sync', data: '[redacted]' });
    expect(JSON.stringify(entries)).not.toContain('hunter2');

    const cli = await belfry('history', '--admin', '--json', '--since', started.toISOString());
    expect(cli.code, cli.stderr).toBe(0);
    expect((JSON.parse(cli.stdout) as { operation: string }[]).map((e) => e.operation)).toEqual([
      'fireJob',
      'pauseTrigger',
      'pauseTrigger',
    ]);
    const misuse = await belfry('history', '--admin', '--job', 'x');
    expect(misuse.code).not.toBe(0);
    expect(misuse.stderr).toMatch(/--job filters executions; it does not apply to --admin/);
  });

  it('answers a bad audit filter with a 400 naming the query parameter', async () => {
    const app = await build({ token: ADMIN, readToken: READER });
    const headers = { authorization: `Bearer ${READER}` };
    const range = await app.inject({ method: 'GET', url: '/api/v1/audit?since=1h&until=2h', headers });
    expect(range.statusCode).toBe(400);
    expect(JSON.parse(range.body)).toMatchObject({
      code: 'BELFRY_ERR_BAD_AUDIT_FILTER',
      detail: 'since must be before until',
      errors: [{ location: 'query', path: 'since', message: 'since must be before until' }],
    });
    const limit = await app.inject({ method: 'GET', url: '/api/v1/audit?limit=10001', headers });
    expect(JSON.parse(limit.body)).toMatchObject({
      code: 'BELFRY_ERR_BAD_AUDIT_FILTER',
      errors: [{ path: 'limit' }],
    });
    const digits = await app.inject({ method: 'GET', url: '/api/v1/audit?limit=ten', headers });
    expect(JSON.parse(digits.body)).toMatchObject({ code: 'BELFRY_ERR_INVALID_REQUEST' });
  });
});

describe('probes (item 5)', () => {
  it('rate-limits requests without a token per address, but not requests with one', async () => {
    const app = await build({ token: ADMIN, rateLimit: { perSecond: 1, burst: 3 } });
    const codes = [];
    for (let i = 0; i < 5; i += 1) codes.push(await status(app, { method: 'GET', url: '/healthz' }));
    expect(codes).toEqual([200, 200, 200, 429, 429]);
    const limited = await app.inject({ method: 'GET', url: '/healthz', headers: { host: '127.0.0.1' } });
    expect(limited.headers['retry-after']).toBe('1');
    const other = await app.inject({ method: 'GET', url: '/healthz', remoteAddress: '127.0.0.2' });
    expect(other.statusCode).toBe(200);
    expect(
      await status(app, {
        method: 'GET',
        url: '/api/v1/jobs',
        headers: { authorization: `Bearer ${ADMIN}` },
      }),
    ).toBe(200);
  });

  it('answers /readyz from one check per second, run on its own connection', async () => {
    const app = await build({ rateLimit: false });
    const health = vi.spyOn(scheduler, 'health');
    const query = vi.spyOn(database.pool, 'query');
    const connect = vi.spyOn(database.pool, 'connect');
    const answers = await Promise.all(
      Array.from({ length: 300 }, () => app.inject({ method: 'GET', url: '/readyz' })),
    );
    expect(new Set(answers.map((a) => a.statusCode))).toEqual(new Set([503])); // not started: not ready
    expect(JSON.parse(answers[0]!.body)).toMatchObject({ databaseReachable: true, migrationsCurrent: true });
    expect(health).toHaveBeenCalledTimes(1);
    expect(query).not.toHaveBeenCalled();
    expect(connect).not.toHaveBeenCalled();
    const probes = await sql<{ count: number }>`
      SELECT count(*)::int AS count FROM pg_stat_activity WHERE application_name = 'belfry-probe'`.execute(
      ex.db,
    );
    expect(probes.rows[0]!.count).toBeGreaterThanOrEqual(1); // one per admin app built in this file
    vi.restoreAllMocks();
  });
});

/** `belfry ARGS…` against this file's schema. */
const belfry = (...args: string[]) => runBelfry(database.schema, args);
