/**
 * Issue #11, item 5: a flood of /readyz must not delay check-ins. A running scheduler with its admin
 * server (rate limit off: every request reaches the probe, the worst case) takes 2,000 requests per
 * second for 30 s from a load generator in a worker thread (its own event loop, keep-alive sockets).
 * Meanwhile a separate connection samples the instance's last_checkin_at every 100 ms.
 *
 * Asserted: every gap between check-ins (database time) stays under twice the heartbeat interval, the
 * instance is never declared dead, nearly every request got an answer, and the flood cost at most one
 * health check per second, with no query on the scheduler's pool (before the fix: one per request). The achieved rate and the
 * latencies are printed for the record (BELFRY_READYZ_LOAD_SECONDS shortens the run while developing).
 */
import { Worker } from 'node:worker_threads';
import { sql } from 'kysely';
import pino from 'pino';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { registerAdminApi } from '../../../src/api/admin-api.js';
import { startAdminServer, type AdminServer } from '../../../src/cli/admin-server.js';
import type { Scheduler } from '../../../src/scheduler.js';
import { openDatabase, type BelfryDatabase } from '../../../src/store/database.js';
import { useTestSchema } from '../../support/schema.js';
import { testScheduler, waitForEvents } from '../../support/scheduler.js';

const RATE = 2_000;
const SECONDS = Number(process.env.BELFRY_READYZ_LOAD_SECONDS ?? 30);
const HEARTBEAT_MS = 1_000;

const database = useTestSchema();
let observer: BelfryDatabase;
let scheduler: Scheduler;
let admin: AdminServer;

beforeAll(async () => {
  observer = openDatabase({
    connectionString: database.connectionString,
    schema: database.schema,
    maxConnections: 1,
  });
  scheduler = testScheduler(database, {
    timings: {
      heartbeatIntervalMs: HEARTBEAT_MS,
      leaseTtlMs: 3_000,
      sessionGraceMs: 1_000,
      deadAfterMs: 5_000,
      recoveryIntervalMs: 1_000,
    },
  });
  const started = waitForEvents(scheduler, 'scheduler:started', 1);
  await scheduler.start();
  await started;
  admin = await startAdminServer({
    scheduler,
    host: '127.0.0.1',
    port: 0,
    rateLimit: false,
    logger: pino({ level: 'silent' }),
    plugins: [(app) => registerAdminApi(app, { scheduler })],
  });
});
afterAll(async () => {
  await admin?.close();
  await scheduler?.stop();
  await observer?.destroy();
});

interface LoadResult {
  sent: number;
  statuses: Record<string, number>;
  errors: number;
  seconds: number;
  p50: number;
  p99: number;
  max: number;
}

/**
 * Plain JS for the worker: paced requests from `connections` loops over keep-alive sockets (node:http
 * with a keep-alive agent: cheaper per request than fetch, so the generator is not the bottleneck).
 */
const GENERATOR = `
const { parentPort, workerData } = require('node:worker_threads');
const http = require('node:http');
const { url, rate, seconds, connections } = workerData;
const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
const latencies = [];
const statuses = {};
let sent = 0;
let errors = 0;
const start = performance.now();
const end = start + seconds * 1000;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const get = () => new Promise((resolve, reject) => {
  const request = http.get(url, { agent }, (response) => {
    response.resume();
    response.on('end', () => resolve(response.statusCode));
    response.on('error', reject);
  });
  request.on('error', reject);
});
async function loop() {
  while (performance.now() < end) {
    if (sent >= ((performance.now() - start) / 1000) * rate) { await sleep(1); continue; }
    sent += 1;
    const t0 = performance.now();
    try {
      const status = await get();
      statuses[status] = (statuses[status] ?? 0) + 1;
    } catch {
      errors += 1;
    }
    latencies.push(performance.now() - t0);
  }
}
Promise.all(Array.from({ length: connections }, loop)).then(() => {
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const at = (q) => Math.round(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] * 10) / 10;
  parentPort.postMessage({
    sent, statuses, errors, seconds: (performance.now() - start) / 1000,
    p50: at(0.5), p99: at(0.99), max: Math.round(latencies[latencies.length - 1]),
  });
});
`;

function generateLoad(url: string): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(GENERATOR, {
      eval: true,
      workerData: { url, rate: RATE, seconds: SECONDS, connections: 64 },
    });
    worker.once('message', (result: LoadResult) => {
      void worker.terminate();
      resolve(result);
    });
    worker.once('error', reject);
  });
}

it(
  `keeps check-ins on time under ${RATE} /readyz requests per second for ${SECONDS} s`,
  async () => {
    const deaths: string[] = [];
    scheduler.on('instance:dead', ({ name }) => deaths.push(name));
    const checkins: number[] = [];
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const { rows } = await sql<{ at: Date; state: string }>`
          SELECT last_checkin_at AS at, state FROM ${sql.table(`${observer.schema}.instances`)}
           WHERE id = ${scheduler.instanceId}`.execute(observer.db);
        const at = rows[0]?.at.getTime();
        if (at !== undefined && at !== checkins.at(-1)) checkins.push(at);
        if (rows[0] && rows[0].state !== 'active') deaths.push(`state ${rows[0].state}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();

    const healthChecks = vi.spyOn(scheduler, 'health');
    const poolQueries = vi.spyOn(database.pool, 'query');
    const result = await generateLoad(`${admin.url}/readyz`);
    const probeRuns = healthChecks.mock.calls.length;
    const poolQueryCount = poolQueries.mock.calls.length;
    vi.restoreAllMocks();
    sampling = false;
    await sampler;
    const { rows } = await sql<{ now: Date }>`SELECT now() AS now`.execute(observer.db);
    const gaps = checkins.slice(1).map((at, i) => at - checkins[i]!);
    gaps.push(rows[0]!.now.getTime() - checkins.at(-1)!);
    const report = {
      requested: RATE * SECONDS,
      ...result,
      rate: Math.round(result.sent / result.seconds),
      checkins: checkins.length,
      maxCheckinGapMs: Math.max(...gaps),
      probeRuns,
      poolQueryCount,
    };
    process.stdout.write(`[readyz load] ${JSON.stringify(report)}\n`);

    expect(deaths).toEqual([]);
    // The flood costs one health check per second, none of it on the scheduler's pool.
    expect(probeRuns).toBeLessThanOrEqual(SECONDS + 2);
    expect(poolQueryCount).toBe(0);
    expect(report.maxCheckinGapMs).toBeLessThan(2 * HEARTBEAT_MS);
    expect(checkins.length).toBeGreaterThanOrEqual(SECONDS - 2);
    expect(result.errors).toBeLessThan(result.sent * 0.01);
    expect(result.statuses['200']).toBeGreaterThan(result.sent * 0.99);
    const health = await scheduler.health();
    expect(health).toMatchObject({ ready: true, databaseReachable: true });
  },
  (SECONDS + 60) * 1_000,
);
