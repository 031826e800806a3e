/** The admin REST API on real PostgreSQL, through fastify's inject (no network). */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import pino from 'pino';
import { format, resolveConfig } from 'prettier';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { adminApiDocument, registerAdminApi } from '../../../src/api/admin-api.js';
import { clusterSchema } from '../../../src/api/cluster-routes.js';
import { historyRowSchema } from '../../../src/api/history-routes.js';
import { fireResultSchema, jobSchema } from '../../../src/api/job-routes.js';
import { problemSchema } from '../../../src/api/problem.js';
import { ERROR_CODES, type ErrorCode } from '../../../src/errors/error-codes.js';
import { triggerDetailSchema, triggerSummarySchema } from '../../../src/api/trigger-routes.js';
import { pauseResultSchema } from '../../../src/api/wire.js';
import { buildAdminApp } from '../../../src/cli/admin-server.js';
import type { Scheduler } from '../../../src/scheduler.js';
import type { Executor } from '../../../src/store/executor.js';
import { useTestSchema } from '../../support/schema.js';
import { testScheduler } from '../../support/scheduler.js';
import { countRows, seedAdminState, triggerStates } from '../cli/admin-fixtures.js';

const OPENAPI_FILE = fileURLToPath(new URL('../../../docs/openapi.json', import.meta.url));
const TOKEN = 'a-test-token-of-enough-length';

const database = useTestSchema();
let ex: Executor;
let scheduler: Scheduler;
let app: FastifyInstance;

async function build(host: string, token?: string): Promise<FastifyInstance> {
  return buildAdminApp({
    scheduler,
    host,
    token,
    logger: pino({ level: 'silent' }),
    plugins: [(instance) => registerAdminApi(instance, { scheduler })],
  });
}

async function call(options: InjectOptions, target = app) {
  // State changes are sent as JSON, as the server requires (with or without a body).
  const headers =
    options.method === 'GET' || options.headers?.['content-type']
      ? options.headers
      : { 'content-type': 'application/json', ...options.headers };
  const response = await target.inject({ ...options, headers });
  const body = response.body ? (JSON.parse(response.body) as unknown) : undefined;
  return {
    status: response.statusCode,
    type: String(response.headers['content-type'] ?? ''),
    body: body as never,
  };
}

/** Asserts an RFC 9457 problem with this status and a registered code (this one, if given), and returns it. */
async function problem(options: InjectOptions, status: number, code?: ErrorCode) {
  const response = await call(options);
  expect(response.status, JSON.stringify(response.body)).toBe(status);
  expect(response.type).toMatch(/^application\/problem\+json/);
  const parsed = problemSchema.parse(response.body);
  expect(parsed.status).toBe(status);
  expect(Object.keys(ERROR_CODES)).toContain(parsed.code);
  if (code) expect(parsed.code).toBe(code);
  return parsed;
}

beforeAll(async () => {
  ex = { db: database.db, schema: database.schema };
  scheduler = testScheduler(database);
  app = await build('127.0.0.1');
});
beforeEach(async () => {
  await sql`TRUNCATE ${sql.table(`${ex.schema}.fires`)}, ${sql.table(`${ex.schema}.executions`)}, ${sql.table(`${ex.schema}.triggers`)}, ${sql.table(`${ex.schema}.jobs`)},
            ${sql.table(`${ex.schema}.instances`)}, ${sql.table(`${ex.schema}.leader_terms`)} CASCADE`.execute(
    ex.db,
  );
  await sql`UPDATE ${sql.table(`${ex.schema}.leader`)} SET holder = NULL, epoch = 0, expires_at = NULL`.execute(
    ex.db,
  );
  await seedAdminState(ex);
});
afterAll(async () => {
  await app?.close();
  await scheduler?.stop();
});

describe('GET /api/v1/cluster', () => {
  it('lists active instances with check-in age, the leader and its epoch', async () => {
    const { status, body } = await call({ method: 'GET', url: '/api/v1/cluster' });
    expect(status).toBe(200);
    const cluster = clusterSchema.parse(body);
    expect(cluster.leader).toMatchObject({ holderName: 'replica-a', epoch: 1, valid: true });
    expect(cluster.instances.map((i) => [i.name, i.isLeader])).toEqual([['replica-a', true]]);
    expect(cluster.instances[0]!.checkinAgeMs).toBeGreaterThanOrEqual(0);
    const all = clusterSchema.parse((await call({ method: 'GET', url: '/api/v1/cluster?all=true' })).body);
    expect(all.instances.map((i) => i.state).sort()).toEqual(['active', 'stopped']);
    await problem({ method: 'GET', url: '/api/v1/cluster?all=maybe' }, 400);
  });
});

describe('triggers', () => {
  it('lists triggers with name, job, group, nextFireAt and paused, filtered by group and job', async () => {
    const { status, body } = await call({ method: 'GET', url: '/api/v1/triggers' });
    expect(status).toBe(200);
    const triggers = z.array(triggerSummarySchema).parse(body);
    expect(triggers.map((t) => [t.name, t.job, t.group, t.nextFireAt, t.paused])).toEqual([
      ['report-held', 'report', 'reports', '2099-01-01T00:00:00.000Z', true],
      ['report-hourly', 'report', 'reports', '2099-01-01T00:00:00.000Z', false],
      ['sync-often', 'sync', 'sync', '2099-01-01T00:00:00.000Z', false],
    ]);
    const byGroup = z
      .array(triggerSummarySchema)
      .parse((await call({ method: 'GET', url: '/api/v1/triggers?group=sync' })).body);
    expect(byGroup.map((t) => t.name)).toEqual(['sync-often']);
    const byJob = z
      .array(triggerSummarySchema)
      .parse((await call({ method: 'GET', url: '/api/v1/triggers?job=report&group=reports' })).body);
    expect(byJob.map((t) => t.name)).toEqual(['report-held', 'report-hourly']);
    await problem({ method: 'GET', url: '/api/v1/triggers?colour=red' }, 400);
  });

  it('shows one trigger with its recent executions, newest first', async () => {
    const { status, body } = await call({ method: 'GET', url: '/api/v1/triggers/report-hourly' });
    expect(status).toBe(200);
    const trigger = triggerDetailSchema.parse(body);
    expect(trigger).toMatchObject({
      name: 'report-hourly',
      job: 'report',
      spec: { kind: 'interval', everyMs: 3_600_000 },
      misfirePolicy: 'fire-once-now',
    });
    expect(trigger.recentExecutions.map((e) => [e.attempt, e.status, e.instance])).toEqual([
      [1, 'succeeded', 'replica-a'],
      [2, 'succeeded', 'replica-b'],
      [1, 'failed', 'replica-a'],
    ]);
    const limited = triggerDetailSchema.parse(
      (await call({ method: 'GET', url: '/api/v1/triggers/report-hourly?executions=1' })).body,
    );
    expect(limited.recentExecutions).toHaveLength(1);
    const missing = await problem(
      { method: 'GET', url: '/api/v1/triggers/no-such-trigger' },
      404,
      'BELFRY_ERR_UNKNOWN_NAME',
    );
    expect(missing.detail).toBe('unknown trigger "no-such-trigger"');
    expect(missing.type).toBe('urn:belfry:problem:not-found');
  });

  it('pauses and resumes a trigger; an unknown one is a 404 and changes nothing', async () => {
    const paused = pauseResultSchema.parse(
      (await call({ method: 'POST', url: '/api/v1/triggers/report-hourly/pause' })).body,
    );
    expect(paused).toEqual({ target: { trigger: 'report-hourly' }, paused: true, changed: 1 });
    expect((await triggerStates(ex))['report-hourly']).toBe('paused');
    const again = pauseResultSchema.parse(
      (await call({ method: 'POST', url: '/api/v1/triggers/report-hourly/pause' })).body,
    );
    expect(again.changed).toBe(0);
    const resumed = pauseResultSchema.parse(
      (await call({ method: 'POST', url: '/api/v1/triggers/report-hourly/resume' })).body,
    );
    expect(resumed).toMatchObject({ paused: false, changed: 1 });
    const before = await triggerStates(ex);
    await problem({ method: 'POST', url: '/api/v1/triggers/nope/pause' }, 404);
    expect(await triggerStates(ex)).toEqual(before);
  });

  it('deletes a trigger, keeping its history', async () => {
    const history = await countRows(ex, 'executions');
    const { status, body } = await call({ method: 'DELETE', url: '/api/v1/triggers/report-hourly' });
    expect(status).toBe(200);
    expect(body).toEqual({ trigger: 'report-hourly', deleted: true });
    expect(Object.keys(await triggerStates(ex))).toEqual(['report-held', 'sync-often']);
    expect(await countRows(ex, 'executions')).toBe(history);
    await problem({ method: 'DELETE', url: '/api/v1/triggers/report-hourly' }, 404);
  });
});

describe('groups and the cluster', () => {
  it('pauses and resumes a group; an unknown group is a 404', async () => {
    const paused = pauseResultSchema.parse(
      (await call({ method: 'POST', url: '/api/v1/groups/reports/pause' })).body,
    );
    expect(paused).toEqual({ target: { group: 'reports' }, paused: true, changed: 1 });
    expect(await triggerStates(ex)).toEqual({
      'report-held': 'paused',
      'report-hourly': 'paused',
      'sync-often': 'waiting',
    });
    await call({ method: 'POST', url: '/api/v1/groups/reports/resume' });
    expect(await triggerStates(ex)).toEqual({
      'report-held': 'waiting',
      'report-hourly': 'waiting',
      'sync-often': 'waiting',
    });
    await problem({ method: 'POST', url: '/api/v1/groups/no-group/pause' }, 404);
  });

  it('puts the whole cluster on standby and back', async () => {
    const paused = pauseResultSchema.parse(
      (await call({ method: 'POST', url: '/api/v1/cluster/pause' })).body,
    );
    expect(paused).toEqual({ target: { all: true }, paused: true, changed: 2 });
    expect(Object.values(await triggerStates(ex))).toEqual(['paused', 'paused', 'paused']);
    const resumed = pauseResultSchema.parse(
      (await call({ method: 'POST', url: '/api/v1/cluster/resume' })).body,
    );
    expect(resumed.changed).toBe(3);
  });
});

describe('jobs', () => {
  it('lists jobs without their data', async () => {
    const jobs = z.array(jobSchema).parse((await call({ method: 'GET', url: '/api/v1/jobs' })).body);
    expect(jobs.map((j) => [j.name, j.maxAttempts, j.paused])).toEqual([
      ['report', 2, false],
      ['sync', 1, false],
    ]);
    expect(jobs[0]).not.toHaveProperty('data');
  });

  it('pauses and resumes a job with its triggers', async () => {
    const paused = pauseResultSchema.parse(
      (await call({ method: 'POST', url: '/api/v1/jobs/report/pause' })).body,
    );
    expect(paused).toMatchObject({ target: { job: 'report' }, changed: 1 });
    expect(await triggerStates(ex)).toMatchObject({ 'report-hourly': 'paused', 'sync-often': 'waiting' });
    expect(
      z.array(jobSchema).parse((await call({ method: 'GET', url: '/api/v1/jobs' })).body)[0]!.paused,
    ).toBe(true);
    await call({ method: 'POST', url: '/api/v1/jobs/report/resume' });
    expect(await triggerStates(ex)).toMatchObject({ 'report-held': 'waiting', 'report-hourly': 'waiting' });
    await problem({ method: 'POST', url: '/api/v1/jobs/ghost/pause' }, 404);
  });

  it('fires a job at an instant with data, or now without a body', async () => {
    const { status, body } = await call({
      method: 'POST',
      url: '/api/v1/jobs/report/fire',
      payload: { data: { region: 'eu' }, at: '2031-02-03T04:05:06+01:00' },
    });
    expect(status).toBe(202);
    const fired = fireResultSchema.parse(body);
    expect(fired).toMatchObject({ job: 'report', at: '2031-02-03T03:05:06.000Z' });
    expect(fired.trigger).toMatch(/^report\.once\./);
    const detail = triggerDetailSchema.parse(
      (await call({ method: 'GET', url: `/api/v1/triggers/${fired.trigger}` })).body,
    );
    expect(detail).toMatchObject({
      group: 'one-off',
      kind: 'once',
      dataKeys: ['region'],
      nextFireAt: '2031-02-03T03:05:06.000Z',
    });
    const now = await call({ method: 'POST', url: '/api/v1/jobs/sync/fire' });
    expect(now.status).toBe(202);
    expect(Math.abs(Date.parse(fireResultSchema.parse(now.body).at) - Date.now())).toBeLessThan(60_000);
  });

  it('rejects a malformed fire request or an unknown job, and creates nothing', async () => {
    const triggers = await countRows(ex, 'triggers');
    const malformed = await problem(
      {
        method: 'POST',
        url: '/api/v1/jobs/report/fire',
        headers: { 'content-type': 'application/json' },
        payload: '{"data": ',
      },
      400,
    );
    expect(malformed.detail).toMatch(/JSON/i);
    const notObject = await problem(
      { method: 'POST', url: '/api/v1/jobs/report/fire', payload: { data: [1, 2] } },
      400,
    );
    expect(notObject.errors?.[0]).toMatchObject({ location: 'body', path: 'data' });
    const noOffset = await problem(
      { method: 'POST', url: '/api/v1/jobs/report/fire', payload: { at: '2031-02-03T04:05:06' } },
      400,
      'BELFRY_ERR_BAD_FIRE_REQUEST',
    );
    expect(noOffset.detail).toMatch(/offset/);
    const extra = await problem(
      { method: 'POST', url: '/api/v1/jobs/report/fire', payload: { data: {}, when: 'now' } },
      400,
      'BELFRY_ERR_INVALID_REQUEST',
    );
    expect(extra.detail).toMatch(/when/);
    const text = await problem(
      {
        method: 'POST',
        url: '/api/v1/jobs/report/fire',
        headers: { 'content-type': 'text/plain' },
        payload: 'hello',
      },
      415,
      'BELFRY_ERR_NOT_JSON',
    );
    expect(text.detail).toMatch(/application\/json/);
    await problem(
      {
        method: 'POST',
        url: '/api/v1/jobs/report/fire',
        headers: { 'content-type': 'application/xml' },
        payload: '<a/>',
      },
      415,
    );
    const unknown = await problem(
      { method: 'POST', url: '/api/v1/jobs/ghost/fire', payload: { data: {} } },
      404,
    );
    expect(unknown.detail).toBe('unknown job "ghost"');
    expect(await countRows(ex, 'triggers')).toBe(triggers);
  });

  it('deletes a job with its triggers, keeping the history', async () => {
    const history = await countRows(ex, 'executions');
    const { status, body } = await call({ method: 'DELETE', url: '/api/v1/jobs/report' });
    expect(status).toBe(200);
    expect(body).toEqual({ job: 'report', deleted: true, triggersDeleted: 2 });
    expect(Object.keys(await triggerStates(ex))).toEqual(['sync-often']);
    expect(await countRows(ex, 'executions')).toBe(history);
    await problem({ method: 'DELETE', url: '/api/v1/jobs/report' }, 404);
  });
});

describe('GET /api/v1/history', () => {
  const history = async (query: string) => {
    const { status, body } = await call({ method: 'GET', url: `/api/v1/history${query}` });
    expect(status, JSON.stringify(body)).toBe(200);
    return z.array(historyRowSchema).parse(body);
  };

  it('filters like belfry history', async () => {
    expect((await history('')).map((r) => r.status)).toEqual([
      'succeeded',
      'timed_out',
      'succeeded',
      'succeeded',
      'failed',
      'succeeded',
    ]);
    expect((await history('?job=sync')).every((r) => r.job === 'sync')).toBe(true);
    expect((await history('?trigger=report-hourly')).length).toBe(3);
    expect((await history('?group=reports')).length).toBe(3);
    expect((await history('?status=failed,timed_out')).map((r) => r.status)).toEqual(['timed_out', 'failed']);
    expect((await history('?status=failed&status=timed_out')).length).toBe(2);
    expect((await history('?instance=replica-b')).map((r) => r.trigger)).toEqual([
      'sync-often',
      'report-hourly',
    ]);
    expect((await history('?since=1h')).map((r) => r.trigger)).toEqual(['sync-often', 'sync-often']);
    expect((await history('?since=1d&until=1h')).length).toBe(3);
    expect((await history('?minDuration=10s')).map((r) => r.durationMs)).toEqual([30_000, 12_000]);
    expect((await history('?error=UPSTREAM')).map((r) => r.error)).toEqual(['Error: upstream returned 503']);
    expect(await history('?limit=2')).toHaveLength(2);
    const row = (await history('?status=timed_out'))[0]!;
    expect(row).toMatchObject({
      job: 'sync',
      trigger: 'sync-often',
      triggerGroup: 'sync',
      attempt: 1,
      durationMs: 30_000,
      lagMs: 10,
      instance: 'replica-a',
    });
  });

  it('rejects a bad time range, status, duration, limit or parameter with a 400', async () => {
    const range = await problem(
      { method: 'GET', url: '/api/v1/history?since=1h&until=2h' },
      400,
      'BELFRY_ERR_BAD_HISTORY_FILTER',
    );
    expect(range.detail).toMatch(/since .* must be before until/);
    expect(range.errors?.[0]).toMatchObject({ location: 'query', path: 'since' });
    expect((await problem({ method: 'GET', url: '/api/v1/history?status=exploded' }, 400)).detail).toMatch(
      /unknown status "exploded"/,
    );
    expect((await problem({ method: 'GET', url: '/api/v1/history?minDuration=soon' }, 400)).detail).toMatch(
      /minDuration/,
    );
    expect((await problem({ method: 'GET', url: '/api/v1/history?since=yesterday' }, 400)).detail).toMatch(
      /since/,
    );
    await problem({ method: 'GET', url: '/api/v1/history?limit=0' }, 400);
    await problem({ method: 'GET', url: '/api/v1/history?limit=ten' }, 400);
    expect((await problem({ method: 'GET', url: '/api/v1/history?stauts=failed' }, 400)).detail).toMatch(
      /stauts/,
    );
  });
});

describe('routing, OpenAPI and auth', () => {
  it('answers an unknown API route with a problem', async () => {
    const missing = await problem(
      { method: 'GET', url: '/api/v1/nothing-here' },
      404,
      'BELFRY_ERR_NOT_FOUND',
    );
    expect(missing.detail).toMatch(/nothing-here/);
  });

  it('serves the committed OpenAPI 3.1 document', async () => {
    const { status, body } = await call({ method: 'GET', url: '/api/v1/openapi.json' });
    expect(status).toBe(200);
    // Committed as prettier formats it (npm run lint checks docs/ too).
    const served = await format(JSON.stringify(body), {
      ...(await resolveConfig(OPENAPI_FILE)),
      parser: 'json',
    });
    if (process.env.BELFRY_UPDATE_OPENAPI === '1') writeFileSync(OPENAPI_FILE, served);
    expect(
      served,
      'docs/openapi.json is stale: run BELFRY_UPDATE_OPENAPI=1 npx vitest run test/integration/api',
    ).toBe(readFileSync(OPENAPI_FILE, 'utf8'));
    expect(body).toEqual(adminApiDocument());
    const document = body as { openapi: string; paths: Record<string, Record<string, unknown>> };
    expect(document.openapi).toBe('3.1.0');
    const operations = Object.entries(document.paths).flatMap(([path, methods]) =>
      Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`),
    );
    expect(operations).toEqual(
      expect.arrayContaining([
        'GET /api/v1/cluster',
        'POST /api/v1/cluster/pause',
        'GET /api/v1/triggers/{name}',
        'DELETE /api/v1/triggers/{name}',
        'POST /api/v1/jobs/{name}/fire',
        'POST /api/v1/groups/{name}/resume',
        'GET /api/v1/history',
      ]),
    );
  });

  it('requires the bearer token off loopback, and not on loopback', async () => {
    const open = await build('0.0.0.0', TOKEN);
    try {
      const anonymous = await call({ method: 'GET', url: '/api/v1/triggers' }, open);
      expect(anonymous.status).toBe(401);
      expect(anonymous.type).toMatch(/^application\/problem\+json/);
      expect(problemSchema.parse(anonymous.body).code).toBe('BELFRY_ERR_UNAUTHORIZED');
      const wrong = await call(
        {
          method: 'POST',
          url: '/api/v1/cluster/pause',
          headers: { authorization: 'Bearer wrong-token-of-some-length' },
        },
        open,
      );
      expect(wrong.status).toBe(401);
      expect((await triggerStates(ex))['report-hourly']).toBe('waiting');
      const right = await call(
        { method: 'GET', url: '/api/v1/triggers', headers: { authorization: `Bearer ${TOKEN}` } },
        open,
      );
      expect(right.status).toBe(200);
      expect((await call({ method: 'GET', url: '/healthz' }, open)).status).toBe(200);
    } finally {
      await open.close();
    }
    expect((await call({ method: 'GET', url: '/api/v1/triggers' })).status).toBe(200);
    await expect(build('0.0.0.0')).rejects.toThrow(/BELFRY_HTTP_TOKEN/);
  });
});
