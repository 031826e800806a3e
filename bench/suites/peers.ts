/**
 * The peers on the closest work they can express: one-off jobs due at an instant (herd), jobs drained
 * as fast as the workers go (throughput), add-to-start latency under light load, idle cost, and their
 * cron. Each runs in its own database with 3 worker processes (bench/peer-worker.ts); the orchestrator
 * enqueues through the peer's own client API.
 */
import { makeWorkerUtils, runMigrations, type WorkerUtils } from 'graphile-worker';
import PgBoss from 'pg-boss';
import { onCleanup } from '../support/cleanup.js';
import { BenchChild, stopAll } from '../support/children.js';
import { lagMetrics, type SystemName, type SystemResult } from '../support/report.js';
import { collectSamples, countStarted, firstAndLast, waitForCount } from '../support/samples.js';
import { round, summarize } from '../support/stats.js';
import { nextWholeSecond, sleep, sleepUntil, wallMs } from '../support/time.js';
import type { PeerPayload, PeerWorkerConfig } from '../peer-worker.js';
import { measureIdle, type SuiteContext } from './common.js';

export interface PeerOptions {
  graphile: { concurrency: number; pollInterval: number };
  pgBoss: { batchSize: number; pollingIntervalSeconds: number; cronQueues: number };
}

interface PeerDriver {
  system: SystemName;
  settings: Record<string, unknown>;
  workerConfig(name: string, phase: 'main' | 'cron'): PeerWorkerConfig;
  /** Enqueues jobs in bulk (due at `runAt`). */
  enqueue(payloads: PeerPayload[], runAt: Date): Promise<void>;
  /** Enqueues one job due now. */
  addOne(payload: PeerPayload): Promise<void>;
  /** Declares the cron items the cron-phase workers run (before they start). */
  setupCron(items: number): Promise<{ items: number; note: string }>;
  close(): Promise<void>;
}

async function graphileDriver(url: string, options: PeerOptions, cronItems: number): Promise<PeerDriver> {
  await runMigrations({ connectionString: url, logger: undefined });
  const utils: WorkerUtils = await makeWorkerUtils({ connectionString: url });
  const crontab = Array.from(
    { length: cronItems },
    (_, i) => `* * * * * noop ?id=bench_cron_${i} {g:"cron"}`,
  ).join('\n');
  return {
    system: 'graphile-worker',
    settings: {
      workers: 'run() per process',
      concurrency: options.graphile.concurrency,
      pollInterval: options.graphile.pollInterval,
      localQueue: 'off (default)',
    },
    workerConfig: (name, phase) => ({
      system: 'graphile-worker',
      connectionString: url,
      name,
      graphile: {
        concurrency: options.graphile.concurrency,
        pollInterval: options.graphile.pollInterval,
        crontab: phase === 'cron' ? crontab : '',
      },
    }),
    async enqueue(payloads, runAt) {
      for (let i = 0; i < payloads.length; i += 5_000) {
        await utils.addJobs(
          payloads.slice(i, i + 5_000).map((payload) => ({ identifier: 'noop', payload, runAt })),
        );
      }
    },
    async addOne(payload) {
      await utils.addJob('noop', payload);
    },
    async setupCron(items) {
      return {
        items,
        note: 'crontab `* * * * *` items (minute resolution is the finest graphile-worker cron has)',
      };
    },
    close: async () => {
      await utils.release();
    },
  };
}

async function pgBossDriver(url: string, options: PeerOptions): Promise<PeerDriver> {
  const boss = new PgBoss({
    connectionString: url,
    supervise: false,
    schedule: false,
    application_name: 'bench-orchestrator',
  });
  boss.on('error', (error) => process.stderr.write(`[pg-boss orchestrator] ${String(error)}\n`));
  await boss.start();
  await boss.createQueue('noop');
  const cronQueues = Array.from({ length: options.pgBoss.cronQueues }, (_, i) => `cron_${i}`);
  return {
    system: 'pg-boss',
    settings: {
      workers: 'one work() per process',
      batchSize: options.pgBoss.batchSize,
      pollingIntervalSeconds: options.pgBoss.pollingIntervalSeconds,
      cron: 'cronMonitorIntervalSeconds 1, cronWorkerIntervalSeconds 1 (cron phase only)',
    },
    workerConfig: (name, phase) => ({
      system: 'pg-boss',
      connectionString: url,
      name,
      pgBoss: {
        queues: phase === 'cron' ? cronQueues : ['noop'],
        batchSize: options.pgBoss.batchSize,
        pollingIntervalSeconds: options.pgBoss.pollingIntervalSeconds,
        schedule: phase === 'cron',
        ...(phase === 'cron' ? { cronMonitorIntervalSeconds: 1, cronWorkerIntervalSeconds: 1 } : {}),
      },
    }),
    async enqueue(payloads, runAt) {
      for (let i = 0; i < payloads.length; i += 5_000) {
        await boss.insert(
          payloads.slice(i, i + 5_000).map((data) => ({ name: 'noop', data, startAfter: runAt })),
        );
      }
    },
    async addOne(payload) {
      await boss.send('noop', payload);
    },
    async setupCron() {
      for (const queue of cronQueues) {
        await boss.createQueue(queue);
        await boss.schedule(queue, '* * * * *', { g: 'cron' });
      }
      return {
        items: cronQueues.length,
        note: 'one schedule per queue (pg-boss keys schedules by queue name); minute resolution',
      };
    },
    close: () => boss.stop({ graceful: false, wait: true, timeout: 5_000 }),
  };
}

function startWorkers(ctx: SuiteContext, driver: PeerDriver, phase: 'main' | 'cron'): BenchChild[] {
  return Array.from({ length: ctx.sizes.processes }, (_, i) => {
    const name = `${driver.system}-${phase}-${i + 1}`;
    return new BenchChild({
      name,
      script: 'bench/peer-worker.ts',
      logDir: ctx.logDir,
      config: driver.workerConfig(name, phase),
    });
  });
}

export async function runPeerSuite(
  ctx: SuiteContext,
  system: 'graphile-worker' | 'pg-boss',
  options: PeerOptions,
): Promise<SystemResult> {
  const { sizes, log } = ctx;
  const databaseName = system === 'graphile-worker' ? 'bench_graphile' : 'bench_pgboss';
  const url = await ctx.server.createDatabase(databaseName);
  const driver =
    system === 'graphile-worker'
      ? await graphileDriver(url, options, sizes.cronItems)
      : await pgBossDriver(url, options);
  const unregister = onCleanup(`close the ${system} client`, () => driver.close());
  const result: SystemResult = {
    system,
    settings: { processes: sizes.processes, ...driver.settings },
    metrics: {},
    details: {},
    notes: [],
  };
  let workers = startWorkers(ctx, driver, 'main');
  try {
    await Promise.all(workers.map((worker) => worker.ready()));
    log(`${system}: ${workers.length} workers ready`);

    const idle = await measureIdle(ctx.server, databaseName, workers.length, sizes, log);
    result.metrics['idle.txnPerSecPerProcess'] = idle.perProcess;
    result.details.idle = idle;
    log(`${system} idle: ${idle.perProcess} txn/s per worker`);

    // Light load: add-to-start latency, jobs added one at a time at a steady pace.
    {
      const total = sizes.lightTriggers * sizes.lightSeconds;
      const start = wallMs() + 200;
      for (let k = 0; k < total; k += 1) {
        await sleepUntil(start + (k * 1_000) / sizes.lightTriggers);
        await driver.addOne({ g: 'light', addedAt: wallMs() });
      }
      await waitForCount(() => countStarted(workers, 'light'), total, { timeoutMs: 15_000, stallMs: 5_000 });
      const samples = await collectSamples(workers, 'light');
      const add = summarize(samples.addLags);
      Object.assign(result.metrics, lagMetrics('light.lag', add));
      result.metrics['addToStart.p50'] = round(add.p50);
      result.metrics['addToStart.p99'] = round(add.p99);
      result.details.light = {
        perSecond: sizes.lightTriggers,
        seconds: sizes.lightSeconds,
        added: total,
        started: samples.starts.length,
        addToStart: add,
      };
      log(`${system} add-to-start: p50 ${add.p50?.toFixed(1)} p99 ${add.p99?.toFixed(1)} ms`);
    }

    // Herd and throughput: jobs all due at one instant, drained by the workers.
    for (const phase of ['herd', 'drain'] as const) {
      const count = phase === 'herd' ? sizes.herd : sizes.peerDrainJobs;
      const enqueueStarted = wallMs();
      const due = nextWholeSecond(3_000 + count / 10);
      await driver.enqueue(
        Array.from({ length: count }, () => ({ g: phase, runAt: due })),
        new Date(due),
      );
      log(
        `${system} ${phase}: ${count} jobs due at ${new Date(due).toISOString()} (enqueued in ${wallMs() - enqueueStarted} ms)`,
      );
      if (wallMs() > due) result.notes.push(`${phase}: enqueueing ended after the due instant`);
      await sleepUntil(due);
      await waitForCount(() => countStarted(workers, phase), count, {
        timeoutMs: 180_000,
        stallMs: 15_000,
        everyMs: 100,
      });
      const samples = await collectSamples(workers, phase);
      const lag = summarize(samples.lags);
      const { first, last } = firstAndLast(samples.starts);
      if (samples.starts.length < count)
        result.notes.push(`${phase}: only ${samples.starts.length} of ${count} started`);
      if (phase === 'herd') {
        Object.assign(result.metrics, lagMetrics('herd.lag', lag));
        result.metrics['herd.allStartedMs'] = last === null ? null : round(last - due);
        result.metrics['herd.drainPerSec'] =
          last === null || last <= due ? null : round(samples.starts.length / ((last - due) / 1_000), 0);
        result.details.herd = {
          count,
          started: samples.starts.length,
          dueAt: new Date(due).toISOString(),
          handlerLag: lag,
          firstStartAfterDueMs: first === null ? null : first - due,
          perWorker: samples.perChild,
        };
        log(
          `${system} herd: all started +${result.metrics['herd.allStartedMs']} ms, lag p99 ${lag.p99?.toFixed(0)} ms`,
        );
      } else {
        const perSec =
          first === null || last === null || last <= first
            ? null
            : (samples.starts.length - 1) / ((last - first) / 1_000);
        result.metrics['sustained.perSec'] = round(perSec, 0);
        result.details.sustained = {
          jobs: count,
          started: samples.starts.length,
          firstStartAfterDueMs: first === null ? null : first - due,
          spanMs: first === null || last === null ? null : last - first,
          perSec: round(perSec, 0),
          handlerLag: lag,
          perWorker: samples.perChild,
        };
        log(`${system} drain: ${result.metrics['sustained.perSec']} jobs/s`);
      }
    }
    await stopAll(workers, { graceMs: 15_000 });

    // Cron: fresh workers with the peer's cron enabled, measured at the next minute boundary.
    if (sizes.cronItems > 0) {
      const cron = await driver.setupCron(sizes.cronItems);
      workers = startWorkers(ctx, driver, 'cron');
      await Promise.all(workers.map((worker) => worker.ready()));
      const boundary = Math.ceil((wallMs() + 5_000) / 60_000) * 60_000;
      log(
        `${system} cron: ${cron.items} items, waiting for the minute boundary at ${new Date(boundary).toISOString()}`,
      );
      await sleepUntil(boundary + 8_000);
      await waitForCount(() => countStarted(workers, 'cron'), Number.MAX_SAFE_INTEGER, {
        timeoutMs: 20_000,
        stallMs: 2_000,
      });
      const samples = await collectSamples(workers, 'cron');
      // Only the boundary measured: a fire for the previous minute at start-up is not counted.
      const starts = samples.starts.filter((at) => at >= boundary - 100 && at < boundary + 50_000);
      const lag = summarize(starts.map((at) => at - boundary));
      result.metrics['cron.lagP50'] = round(lag.p50);
      result.metrics['cron.lagP99'] = round(lag.p99);
      result.details.cron = {
        ...cron,
        boundary: new Date(boundary).toISOString(),
        fired: starts.length,
        duplicates: Math.max(0, starts.length - cron.items),
        missing: Math.max(0, cron.items - starts.length),
        lag,
        startedBeforeBoundary: samples.starts.length - starts.length,
      };
      log(
        `${system} cron: ${starts.length}/${cron.items} fired, lag p50 ${lag.p50?.toFixed(0)} p99 ${lag.p99?.toFixed(0)} ms`,
      );
      await stopAll(workers, { graceMs: 15_000 });
    } else {
      result.notes.push(
        'cron: skipped (--cron-items 0 or --quick): it waits for a minute boundary, the finest resolution of this peer',
      );
    }
  } finally {
    await stopAll(workers, { graceMs: 15_000 });
    await driver.close().catch(() => {});
    unregister();
  }
  await sleep(200);
  return result;
}
