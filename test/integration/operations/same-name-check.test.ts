/**
 * One path per operation (issue 18, item 2): the library (Scheduler), the admin API and the CLI reach the
 * same operations in src/operations/, so each refuses the same unknown name the same way: the
 * BELFRY_ERR_UNKNOWN_NAME code, the same message, and nothing written.
 */
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerAdminApi } from '../../../src/api/admin-api.js';
import { buildAdminApp } from '../../../src/cli/admin-server.js';
import type { Scheduler } from '../../../src/scheduler.js';
import type { Executor } from '../../../src/store/executor.js';
import { useTestSchema } from '../../support/schema.js';
import { testScheduler } from '../../support/scheduler.js';
import { countRows, seedAdminState, triggerStates } from '../cli/admin-fixtures.js';
import { runBelfry, type BelfryRun } from '../cli/belfry-run.js';

const database = useTestSchema();
let ex: Executor;
let scheduler: Scheduler;
let app: FastifyInstance;

function belfry(...args: string[]): Promise<BelfryRun> {
  return runBelfry(database.schema, args);
}

async function api(url: string): Promise<{ status: number; body: { code?: string; detail?: string } }> {
  const response = await app.inject({ method: 'POST', url, headers: { 'content-type': 'application/json' } });
  return { status: response.statusCode, body: JSON.parse(response.body) as never };
}

async function library(action: () => Promise<unknown>): Promise<{ code?: unknown; message?: unknown }> {
  const error: unknown = await action().then(
    () => undefined,
    (caught: unknown) => caught,
  );
  return error instanceof Error
    ? { code: (error as { code?: unknown }).code, message: error.message }
    : { code: 'not refused' };
}

beforeAll(async () => {
  ex = { db: database.db, schema: database.schema };
  await seedAdminState(ex);
  scheduler = testScheduler(database);
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

describe('an unknown name, refused the same way by the library, the API and the CLI', () => {
  const cases = [
    {
      name: 'pause an unknown trigger',
      message: 'unknown trigger "nope"',
      library: () => scheduler.pause({ trigger: 'nope' }),
      url: '/api/v1/triggers/nope/pause',
      cli: ['pause', '--trigger', 'nope'],
    },
    {
      name: 'resume an unknown group',
      message: 'unknown group "nope"',
      library: () => scheduler.resume({ group: 'nope' }),
      url: '/api/v1/groups/nope/resume',
      cli: ['resume', '--group', 'nope'],
    },
    {
      name: 'pause an unknown job',
      message: 'unknown job "ghost"',
      library: () => scheduler.pause({ job: 'ghost' }),
      url: '/api/v1/jobs/ghost/pause',
      cli: ['pause', '--job', 'ghost'],
    },
    {
      name: 'fire an unknown job',
      message: 'unknown job "ghost"',
      library: () => scheduler.fireNow('ghost', { n: 1 }),
      url: '/api/v1/jobs/ghost/fire',
      cli: ['fire', 'ghost', '--data', '{"n": 1}'],
    },
  ];

  it.each(cases)('$name', async (operation) => {
    const triggersBefore = await countRows(ex, 'triggers');
    const statesBefore = await triggerStates(ex);
    const events: unknown[] = [];
    const offs = [
      scheduler.on('trigger:paused', (event) => events.push(event)),
      scheduler.on('trigger:resumed', (event) => events.push(event)),
    ];
    const [fromLibrary, fromApi, fromCli] = await Promise.all([
      library(operation.library),
      api(operation.url),
      belfry(...operation.cli),
    ]);
    offs.forEach((off) => off());

    expect(fromApi).toEqual({
      status: 404,
      body: expect.objectContaining({ code: 'BELFRY_ERR_UNKNOWN_NAME', detail: operation.message }),
    });
    expect(fromCli.code).toBe(1);
    expect(fromCli.stderr).toMatch(
      new RegExp(`^belfry: ${operation.message}: check the name and --schema .*; nothing was changed\\n$`),
    );
    expect(fromLibrary).toEqual({ code: 'BELFRY_ERR_UNKNOWN_NAME', message: operation.message });
    // Refused before anything was written, and nothing announced as done.
    expect(await countRows(ex, 'triggers')).toBe(triggersBefore);
    expect(await triggerStates(ex)).toEqual(statesBefore);
    expect(events).toEqual([]);
  });
});
