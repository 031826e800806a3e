/**
 * Belfry's measurements: three replica processes (bench/belfry-replica.ts) on their own database.
 * Order: idle first (on a fresh database, before any write load wakes autovacuum), then light load,
 * add-to-start, the herd, and sustained interval firing with the exactly-once check.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { onCleanup } from '../support/cleanup.js';
import { BenchChild, stopAll } from '../support/children.js';
import {
  countFinished,
  exactlyOnce,
  historyLag,
  insertBenchTriggers,
  type BenchTrigger,
} from '../support/belfry-db.js';
import { lagMetrics, type SystemResult } from '../support/report.js';
import { collectSamples, countStarted, firstAndLast, waitForCount } from '../support/samples.js';
import { round, summarize } from '../support/stats.js';
import { nextWholeSecond, sleep, sleepUntil, waitFor, wallMs } from '../support/time.js';
import { openDatabase } from '../../src/store/database.js';
import { insertOneOffTrigger } from '../../src/store/definition-store.js';
import { migrate } from '../../src/store/migrator.js';
import type { ReplicaConfig } from '../belfry-replica.js';
import { measureIdle, type SuiteContext } from './common.js';

export interface BelfryBenchOptions {
  concurrency: number;
  batchSize: number;
  maxIdleMs?: number;
  /** Write a V8 CPU profile per replica into this directory. */
  cpuProfDir?: string;
}

const DATABASE = 'bench_belfry';
const SCHEMA = 'belfry';

export function startReplicas(
  ctx: { logDir: string },
  params: {
    url: string;
    schema: string;
    names: string[];
    options: BelfryBenchOptions;
    timings?: ReplicaConfig['timings'];
  },
): BenchChild[] {
  return params.names.map(
    (name) =>
      new BenchChild({
        name,
        script: 'bench/belfry-replica.ts',
        logDir: ctx.logDir,
        // One directory per replica: V8 writes a profile per thread (main, and tsx's loader thread).
        nodeFlags: params.options.cpuProfDir
          ? ['--cpu-prof', `--cpu-prof-dir=${join(params.options.cpuProfDir, name)}`]
          : [],
        config: {
          connectionString: params.url,
          schema: params.schema,
          instanceName: name,
          concurrency: params.options.concurrency,
          batchSize: params.options.batchSize,
          maxIdleMs: params.options.maxIdleMs,
          timings: params.timings,
        } satisfies ReplicaConfig,
      }),
  );
}

export async function runBelfrySuite(ctx: SuiteContext, options: BelfryBenchOptions): Promise<SystemResult> {
  const { sizes, log } = ctx;
  const url = await ctx.server.createDatabase(DATABASE);
  const database = openDatabase({
    connectionString: url,
    schema: SCHEMA,
    maxConnections: 4,
    applicationName: 'bench-orchestrator',
  });
  const unregister = onCleanup('close the orchestrator pool (belfry)', () => database.destroy());
  const pool = database.pool;
  await migrate(pool, SCHEMA);

  const result: SystemResult = {
    system: 'belfry',
    settings: {
      replicas: sizes.processes,
      concurrency: options.concurrency,
      batchSize: options.batchSize,
      maxIdleMs: options.maxIdleMs ?? 10_000,
      timings: 'defaults (heartbeat 2 s, lease 6 s, recovery pass 1 s)',
      poolPerReplica: Math.max(4, Math.min(20, options.concurrency + 3)),
    },
    metrics: {},
    details: {},
    notes: [],
  };

  const names = Array.from({ length: sizes.processes }, (_, i) => `belfry-${i + 1}`);
  const replicas = startReplicas(ctx, { url, schema: SCHEMA, names, options });
  try {
    await Promise.all(replicas.map((replica) => replica.ready()));
    log(`belfry: ${replicas.length} replicas ready`);

    // (d) idle: a few triggers an hour away.
    const hour = nextWholeSecond(3_600_000);
    await insertBenchTriggers(pool, SCHEMA, {
      group: 'idle',
      job: 'noop',
      triggers: Array.from({ length: 5 }, (_, i) => ({
        name: `idle-${i}`,
        kind: 'interval',
        everyMs: 3_600_000,
        anchorMs: hour,
        firstAt: hour,
      })),
    });
    const idle = await measureIdle(ctx.server, DATABASE, replicas.length, sizes, log);
    result.metrics['idle.txnPerSecPerProcess'] = idle.perProcess;
    result.details.idle = idle;
    log(`belfry idle: ${idle.perProcess} txn/s per replica`);

    // (c) light load: interval triggers every second (anchored at the epoch, as `every: 1s` is).
    {
      const first = nextWholeSecond(1_500);
      const last = first + (sizes.lightSeconds - 1) * 1_000;
      await insertBenchTriggers(pool, SCHEMA, {
        group: 'light',
        job: 'noop',
        triggers: Array.from({ length: sizes.lightTriggers }, (_, i) => ({
          name: `light-${i}`,
          kind: 'interval',
          everyMs: 1_000,
          anchorMs: 0,
          firstAt: first,
          lastAt: last,
        })),
      });
      const expected = sizes.lightTriggers * sizes.lightSeconds;
      log(`light: ${sizes.lightTriggers} triggers every 1 s for ${sizes.lightSeconds} s`);
      await sleepUntil(last + 500);
      await waitForCount(() => countStarted(replicas, 'light'), expected, {
        timeoutMs: 15_000,
        stallMs: 5_000,
      });
      await waitFor(async () => (await countFinished(pool, SCHEMA, 'light')) >= expected, {
        timeoutMs: 5_000,
      });
      const samples = await collectSamples(replicas, 'light');
      const history = await historyLag(pool, SCHEMA, 'light');
      const handler = summarize(samples.lags);
      Object.assign(
        result.metrics,
        lagMetrics('light.historyLag', history.lag),
        lagMetrics('light.lag', handler),
      );
      result.details.light = {
        triggers: sizes.lightTriggers,
        seconds: sizes.lightSeconds,
        historyLag: history.lag,
        handlerLag: handler,
        perReplica: samples.perChild,
        exactlyOnce: await exactlyOnce(pool, SCHEMA, 'light'),
      };
      log(
        `belfry light: job_history p50 ${history.lag.p50?.toFixed(1)} p99 ${history.lag.p99?.toFixed(1)} ms; handler p99 ${handler.p99?.toFixed(1)} ms`,
      );
    }

    // add-to-start: fireNow-style one-off triggers (insertOneOffTrigger), paced.
    {
      const ex = { db: database.db, schema: SCHEMA };
      const total = sizes.addRate * sizes.addSeconds;
      const start = wallMs() + 200;
      for (let k = 0; k < total; k += 1) {
        await sleepUntil(start + (k * 1_000) / sizes.addRate);
        await insertOneOffTrigger(ex, {
          name: `noop.once.${randomUUID()}`,
          job: 'noop',
          group: 'fire-now',
          at: null,
          data: { addedAt: wallMs() },
        });
      }
      await waitForCount(() => countStarted(replicas, 'fire-now'), total, {
        timeoutMs: 10_000,
        stallMs: 3_000,
      });
      const samples = await collectSamples(replicas, 'fire-now');
      const add = summarize(samples.addLags);
      result.metrics['addToStart.p50'] = round(add.p50);
      result.metrics['addToStart.p99'] = round(add.p99);
      result.details.addToStart = { requests: total, perSecond: sizes.addRate, lag: add };
      log(`belfry add-to-start (fireNow): p50 ${add.p50?.toFixed(1)} p99 ${add.p99?.toFixed(1)} ms`);
    }

    // (a) herd: one-off triggers all due at the same instant.
    {
      const due = nextWholeSecond(3_000);
      const triggers: BenchTrigger[] = Array.from({ length: sizes.herd }, (_, i) => ({
        name: `herd-${i}`,
        kind: 'once',
        firstAt: due,
      }));
      await insertBenchTriggers(pool, SCHEMA, { group: 'herd', job: 'noop', triggers });
      log(`herd: ${sizes.herd} one-off triggers due at ${new Date(due).toISOString()}`);
      await sleepUntil(due);
      await waitForCount(() => countStarted(replicas, 'herd'), sizes.herd, {
        timeoutMs: 120_000,
        stallMs: 10_000,
        everyMs: 100,
      });
      await waitFor(async () => (await countFinished(pool, SCHEMA, 'herd')) >= sizes.herd, {
        timeoutMs: 15_000,
      });
      const samples = await collectSamples(replicas, 'herd');
      const history = await historyLag(pool, SCHEMA, 'herd');
      const handler = summarize(samples.lags);
      const { first, last } = firstAndLast(samples.starts);
      const once = await exactlyOnce(pool, SCHEMA, 'herd');
      result.metrics['herd.allFiredMs'] =
        history.lastStartMs === null ? null : round(history.lastStartMs - due);
      Object.assign(
        result.metrics,
        lagMetrics('herd.historyLag', history.lag),
        lagMetrics('herd.lag', handler),
      );
      result.metrics['herd.allStartedMs'] = last === null ? null : round(last - due);
      result.metrics['herd.drainPerSec'] =
        last === null || first === null || last <= due
          ? null
          : round(samples.starts.length / ((last - due) / 1_000), 0);
      result.details.herd = {
        count: sizes.herd,
        started: samples.starts.length,
        dueAt: new Date(due).toISOString(),
        historyLag: history.lag,
        handlerLag: handler,
        firstStartAfterDueMs: first === null ? null : first - due,
        perReplica: samples.perChild,
        perSecond: history.perSecond,
        exactlyOnce: once,
      };
      if (samples.starts.length < sizes.herd)
        result.notes.push(`herd: only ${samples.starts.length} of ${sizes.herd} started`);
      log(
        `belfry herd: all fired +${result.metrics['herd.allFiredMs']} ms (job_history), all started +${result.metrics['herd.allStartedMs']} ms (handler); lag p99 ${history.lag.p99?.toFixed(0)} ms`,
      );
    }

    // (b) sustained: interval triggers every second, phases spread evenly over the second.
    {
      const n = sizes.sustainedTriggers;
      const seconds = sizes.sustainedSeconds;
      const start = nextWholeSecond(3_000);
      const triggers: BenchTrigger[] = Array.from({ length: n }, (_, i) => {
        const offset = Math.floor((i * 1_000) / n);
        return {
          name: `sustained-${i}`,
          kind: 'interval',
          everyMs: 1_000,
          anchorMs: offset,
          firstAt: start + offset,
          lastAt: start + offset + (seconds - 1) * 1_000,
        };
      });
      await insertBenchTriggers(pool, SCHEMA, { group: 'sustained', job: 'noop', triggers });
      const expected = n * seconds;
      log(
        `sustained: ${n} interval triggers every 1 s for ${seconds} s (${expected} fires offered at ${n}/s)`,
      );
      await sleepUntil(start + seconds * 1_000);
      await waitForCount(() => countStarted(replicas, 'sustained'), expected, {
        timeoutMs: 180_000,
        stallMs: 10_000,
        everyMs: 250,
      });
      await waitFor(async () => (await countFinished(pool, SCHEMA, 'sustained')) >= expected, {
        timeoutMs: 15_000,
      });
      const samples = await collectSamples(replicas, 'sustained');
      const history = await historyLag(pool, SCHEMA, 'sustained');
      const once = await exactlyOnce(pool, SCHEMA, 'sustained');
      const { last } = firstAndLast(samples.starts);
      // Fires per second: what was executed over the span from the first scheduled time to the last
      // start (at least the offered window, so keeping up reads as the offered rate).
      const spanMs = last === null ? null : Math.max(seconds * 1_000, last - start);
      const perSec = spanMs === null ? null : samples.starts.length / (spanMs / 1_000);
      const steady = history.perSecond
        .filter(
          ([second]) => second * 1_000 >= start + 1_000 && second * 1_000 < start + (seconds - 1) * 1_000,
        )
        .map(([, count]) => count);
      result.metrics['sustained.perSec'] = round(perSec, 0);
      result.metrics['sustained.lagP99'] = round(history.lag.p99);
      result.metrics['sustained.duplicates'] = once.duplicateFires + once.duplicateExecutions;
      result.metrics['sustained.missing'] = once.missing;
      result.details.sustained = {
        triggers: n,
        seconds,
        offeredPerSec: n,
        executed: samples.starts.length,
        perSecSteadyMin: steady.length ? Math.min(...steady) : null,
        perSecSteadyMedian: steady.length
          ? steady.sort((a, b) => a - b)[Math.floor(steady.length / 2)]
          : null,
        historyLag: history.lag,
        handlerLag: summarize(samples.lags),
        perSecond: history.perSecond,
        perReplica: samples.perChild,
        exactlyOnce: once,
      };
      log(
        `belfry sustained: ${result.metrics['sustained.perSec']} fires/s (offered ${n}/s), lag p99 ${history.lag.p99?.toFixed(0)} ms, missing ${once.missing}, duplicates ${once.duplicateFires + once.duplicateExecutions}`,
      );
    }
  } finally {
    await stopAll(replicas, { graceMs: 15_000 });
    await database.destroy();
    unregister();
  }
  await sleep(200);
  return result;
}
