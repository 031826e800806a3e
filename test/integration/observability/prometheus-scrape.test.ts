/**
 * Metrics end to end: three in-process replicas, each with its own MeterProvider and Prometheus reader
 * (as `belfry start` sets up) behind its own admin server's /metrics; a real Prometheus (Debian's
 * `prometheus` package) scrapes all three, and PromQL sums the fires across the cluster. Also checks
 * that the rendered names are exactly the contract the dashboards and alert rules use.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import pino from 'pino';
import { useTestSchema } from '../../support/schema.js';
import { testScheduler, waitForEvents } from '../../support/scheduler.js';
import { defineJob } from '../../support/fixtures.js';
import { belfryCounters, belfryGauges, belfryHistograms } from '../../deploy/support.js';
import type { Scheduler } from '../../../src/scheduler.js';
import { startAdminServer, type AdminServer } from '../../../src/cli/admin-server.js';
import { metricsRoute } from '../../../src/observability/telemetry-sdk.js';
import { freePort } from './support.js';

const FIRES = 30;
const prometheusBinary = (() => {
  const which = spawnSync('sh', ['-c', 'command -v prometheus'], { encoding: 'utf8' });
  return which.status === 0 ? which.stdout.trim() : undefined;
})();
const inCI = process.env.CI === 'true';
const missing = 'prometheus not found; install it with: apt-get install -y prometheus';

const database = useTestSchema();
const replicas: { scheduler: Scheduler; admin: AdminServer; provider: MeterProvider }[] = [];
let prometheus: ChildProcess | undefined;
let dataDir: string | undefined;

beforeAll(async () => {
  await defineJob({ db: database.db, schema: database.schema }, 'counted');
  await defineJob({ db: database.db, schema: database.schema }, 'flaky', {
    maxAttempts: 2,
    backoff: { initialMs: 10, maxMs: 10 },
  });
  for (const name of ['r1', 'r2', 'r3']) {
    const exporter = new PrometheusExporter({ preventServerStart: true });
    const provider = new MeterProvider({ readers: [exporter] });
    const scheduler = testScheduler(database, { instanceName: name, meterProvider: provider })
      .registerJob(
        'counted',
        class {
          execute() {}
        },
      )
      .registerJob(
        'flaky',
        class {
          execute() {
            throw new Error('flaky');
          }
        },
        { maxAttempts: 2, backoff: { initialMs: 10, maxMs: 10 } },
      );
    const logger = pino({ level: 'silent' });
    const admin = await startAdminServer({
      scheduler,
      host: '127.0.0.1',
      port: 0,
      logger,
      plugins: [metricsRoute(exporter, logger)],
    });
    replicas.push({ scheduler, admin, provider });
  }
});
afterAll(async () => {
  prometheus?.kill('SIGTERM');
  if (prometheus && prometheus.exitCode === null)
    await new Promise((resolve) => prometheus!.once('exit', resolve));
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  for (const { scheduler, admin, provider } of replicas) {
    await admin.close();
    await scheduler.stop();
    await provider.shutdown();
  }
});

async function startPrometheus(targets: string[]): Promise<string> {
  const port = await freePort();
  dataDir = mkdtempSync(join(tmpdir(), 'belfry-prom-'));
  const config = join(dataDir, 'prometheus.yml');
  writeFileSync(
    config,
    [
      'global:',
      '  scrape_interval: 1s',
      'scrape_configs:',
      '  - job_name: belfry',
      '    static_configs:',
      `      - targets: [${targets.map((t) => `'${t}'`).join(', ')}]`,
      '',
    ].join('\n'),
  );
  prometheus = spawn(
    prometheusBinary!,
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${join(dataDir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  prometheus.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const base = `http://127.0.0.1:${port}`;
  await eventually(
    async () => (await fetch(`${base}/-/ready`)).ok,
    15_000,
    () => `prometheus did not get ready: ${stderr}`,
  );
  return base;
}

async function query(base: string, promql: string): Promise<number | null> {
  const response = await fetch(`${base}/api/v1/query?query=${encodeURIComponent(promql)}`);
  const body = (await response.json()) as { data: { result: { value: [number, string] }[] } };
  const first = body.data.result[0];
  return first ? Number(first.value[1]) : null;
}

async function eventually(
  check: () => Promise<boolean>,
  timeoutMs: number,
  message: () => string,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      // not yet
    }
    if (performance.now() > deadline) throw new Error(message());
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

describe('metrics', () => {
  it('renders the contract names at /metrics', async () => {
    const [first] = replicas;
    await Promise.all(replicas.map((r) => r.scheduler.start()));
    const finished = waitForEvents(
      replicas.map((r) => r.scheduler),
      'execution:finished',
      2,
      (e) => e.job === 'flaky',
    );
    await first!.scheduler.fireNow('flaky');
    await finished;
    // fireNow's fire is claimed, not acquired (decision 0010): a one-off at an instant goes through an
    // acquisition, which the acquisition histograms record.
    const acquired = waitForEvents(
      replicas.map((r) => r.scheduler),
      'execution:finished',
      1,
      (e) => e.job === 'counted',
    );
    await first!.scheduler.scheduleAt('counted', new Date());
    await acquired;
    const scrape = () =>
      Promise.all(replicas.map(async (r) => (await fetch(`${r.admin.url}/metrics`)).text()));
    let texts = await scrape();
    // belfry_live_instances is counted beside the heartbeat once a reader asked for it: the next heartbeat.
    await eventually(
      async () => (texts = await scrape()).every((t) => /^belfry_live_instances\S* 3$/m.test(t)),
      5_000,
      () => texts.join('\n'),
    );
    const types = new Map<string, string>();
    for (const text of texts)
      for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) types.set(m[1]!, m[2]!);
    for (const name of belfryCounters) expect(types.get(name), name).toBe('counter');
    for (const name of belfryGauges) expect(types.get(name), name).toBe('gauge');
    for (const name of belfryHistograms) expect(types.get(name), name).toBe('histogram');
    const all = texts.join('\n');
    expect(all).toMatch(/^belfry_fires_total\{[^}]*group="one-off"[^}]*outcome="fired"/m);
    expect(all).toMatch(/^belfry_execution_failures_total\{[^}]*group="one-off"/m);
    expect(all).toMatch(
      /^belfry_execution_duration_seconds_bucket\{[^}]*group="one-off"[^}]*status="failed"[^}]*le="0.005"/m,
    );
    expect(all).toMatch(/^belfry_retries_total\{[^}]*\} 1$/m);
    expect(all).not.toMatch(/trigger="/); // per-trigger labels are opt-in
  });

  it.skipIf(!prometheusBinary && !inCI)(
    `a real Prometheus scrapes three replicas and sums their fires (${prometheusBinary ? 'prometheus found' : missing})`,
    async () => {
      if (!prometheusBinary) throw new Error(missing);
      const base = await startPrometheus(replicas.map((r) => new URL(r.admin.url).host));
      const before = (
        await sql<{
          n: number;
        }>`SELECT count(*)::int AS n FROM ${sql.table(`${database.schema}.fires`)}`.execute(database.db)
      ).rows[0]!.n;
      const schedulers = replicas.map((r) => r.scheduler);
      const finished = waitForEvents(schedulers, 'execution:finished', FIRES, (e) => e.job === 'counted');
      for (let i = 0; i < FIRES; i += 1) await schedulers[i % 3]!.fireNow('counted');
      await finished;
      const { rows } = await sql<{
        n: number;
      }>`SELECT count(*)::int AS n FROM ${sql.table(`${database.schema}.fires`)}`.execute(database.db);
      expect(rows[0]!.n - before).toBe(FIRES);
      const expected = rows[0]!.n;

      await eventually(
        async () => (await query(base, 'sum(belfry_fires_total{job="belfry"})')) === expected,
        20_000,
        () => `PromQL sum(belfry_fires_total) never reached ${expected}`,
      );
      await eventually(
        async () => (await query(base, 'count(up{job="belfry"} == 1)')) === 3,
        10_000,
        () => 'not all three replicas were scraped',
      );
      await eventually(
        async () => (await query(base, 'sum(belfry_is_leader{job="belfry"})')) === 1,
        10_000,
        () => 'expected exactly one leader',
      );
      await eventually(
        async () => (await query(base, 'max(belfry_live_instances{job="belfry"})')) === 3,
        15_000,
        () => 'live instances never reached 3',
      );
    },
  );
});
