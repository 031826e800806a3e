/**
 * Issue 12, item 4 and 5: `belfry services` (table and --json), `services history`, pause/resume; the
 * API's /services routes; /readyz details with a service's health (an unhealthy service does not make
 * the replica unready).
 */
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { registerAdminApi } from '../../../src/api/admin-api.js';
import { serviceHistorySchema, serviceShardSchema } from '../../../src/api/service-routes.js';
import { buildAdminApp } from '../../../src/cli/admin-server.js';
import type { ServiceContext } from '../../../src/hosted/hosted-service.js';
import type { Scheduler } from '../../../src/scheduler.js';
import { runBelfry } from '../cli/belfry-run.js';
import { useTestSchema } from '../../support/schema.js';
import { testScheduler, waitForEvents } from '../../support/scheduler.js';

const database = useTestSchema();
let scheduler: Scheduler;

class Reader {
  async run(ctx: ServiceContext<Record<string, unknown>, { offset: number }>) {
    await ctx.checkpoint.set({ offset: 42 + ctx.shard });
    ctx.health(ctx.shard === 1 ? 'unhealthy' : 'healthy', { lagMs: 7 });
    await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve()));
  }
}

beforeAll(async () => {
  scheduler = testScheduler(database, { instanceName: 'admin-replica' });
  scheduler.registerService('reader', Reader, { shards: 2 });
  const started = waitForEvents(scheduler, 'service:started', 2);
  await scheduler.start();
  await started;
  // The checkpoints are written right after the start.
  const deadline = performance.now() + 5_000;
  while (
    performance.now() < deadline &&
    scheduler.serviceStatus().some((s) => s.health.status === 'healthy' && s.shard === 1)
  )
    await new Promise((resolve) => setTimeout(resolve, 20));
});
afterAll(async () => {
  await scheduler?.stop({ timeoutMs: 2_000 });
});

describe('services admin', () => {
  it('belfry services lists each shard with holder, epoch, uptime, checkpoint and restarts', async () => {
    const json = await runBelfry(database.schema, ['services', '--json']);
    expect(json.code, json.stderr).toBe(0);
    const rows = JSON.parse(json.stdout) as { shard: number; holderName: string; checkpoint: unknown }[];
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({
      service: 'reader',
      shard: 0,
      holderName: 'admin-replica',
      epoch: 1,
      restarts: 0,
      checkpoint: { offset: 42 },
    });
    // The table's layout is unit-tested (test/unit/hosted/services-table.test.ts).
  });

  it('serves the shards, the history and pause/resume over the API, and shows health in /readyz', async () => {
    const app = await buildAdminApp({
      scheduler,
      host: '127.0.0.1',
      logger: pino({ level: 'silent' }),
      plugins: [(instance) => registerAdminApi(instance, { scheduler })],
    });
    try {
      const list = await app.inject({ method: 'GET', url: '/api/v1/services' });
      expect(list.statusCode).toBe(200);
      const shards = z.array(serviceShardSchema).parse(list.json());
      expect(shards.map((s) => [s.shard, s.holderName, s.epoch])).toEqual([
        [0, 'admin-replica', 1],
        [1, 'admin-replica', 1],
      ]);
      const history = await app.inject({ method: 'GET', url: '/api/v1/services/history?service=reader' });
      expect(z.array(serviceHistorySchema).parse(history.json())).toHaveLength(2);
      const ready = await app.inject({ method: 'GET', url: '/readyz' });
      expect(ready.statusCode).toBe(200);
      const services = (ready.json() as { services: { shard: number; health: { status: string } }[] })
        .services;
      expect(services.map((s) => [s.shard, s.health.status]).sort()).toEqual([
        [0, 'healthy'],
        [1, 'unhealthy'],
      ]);
      const unknown = await app.inject({
        method: 'POST',
        url: '/api/v1/services/nope/pause',
        headers: { 'content-type': 'application/json' },
      });
      expect(unknown.statusCode).toBe(404);
      expect(unknown.json()).toMatchObject({ code: 'BELFRY_ERR_UNKNOWN_SERVICE' });
      const stopped = waitForEvents(scheduler, 'service:stopped', 2);
      const pause = await app.inject({
        method: 'POST',
        url: '/api/v1/services/reader/pause',
        headers: { 'content-type': 'application/json' },
      });
      expect(pause.json()).toEqual({ service: 'reader', paused: true });
      expect((await stopped).map((e) => e.reason)).toEqual(['paused', 'paused']);
      const resumed = waitForEvents(scheduler, 'service:started', 2);
      const resume = await app.inject({
        method: 'POST',
        url: '/api/v1/services/reader/resume',
        headers: { 'content-type': 'application/json' },
      });
      expect(resume.json()).toEqual({ service: 'reader', paused: false });
      expect((await resumed).map((e) => e.epoch)).toEqual([2, 2]);
    } finally {
      await app.close();
    }
  });
});
