/**
 * The workloads of `npm run bench`, each written once and run the same way for every system and column
 * (bench/systems/*). Every lag is measured in the job's handler (wall clock; all processes are on one
 * machine) against a time the orchestrator stamped in the job's payload, so no system's own bookkeeping
 * is trusted or needed.
 *
 * Order per system × column: idle first (a fresh database, before write load wakes autovacuum), then
 * add-to-start at idle, the herd, steady load, and the drain. A workload that does not finish within
 * its time limit reports what it reached (marked partial) and discards its leftover jobs, so a slow
 * column's backlog does not leak into the next workload.
 */
import { collectSamples, countStarted, firstAndLast } from './support/samples.js';
import { censoredPercentiles as censoredLags, round } from './support/stats.js';
import { monoMs, nextWholeSecond, sleep, sleepUntil, wallMs } from './support/time.js';
import type { BenchServer } from './support/postgres.js';
import type { JobPayload, RunningSystem } from './systems/system.js';

export interface WorkloadSizes {
  processes: number;
  /** drain: jobs due now. */
  drain: number;
  /** herd: jobs due at the same future second. */
  herd: number;
  /** add-to-start: jobs added one at a time, per second, for this many seconds. */
  addRate: number;
  addSeconds: number;
  /** steady: jobs offered per second, for this many seconds. */
  steadyRate: number;
  steadySeconds: number;
  /** idle: the counting window, and the settling time before it. */
  idleSeconds: number;
  settleSeconds: number;
  /** The longest a drain, herd or steady workload waits for its jobs (then it reports a partial result). */
  limitSeconds: number;
}

export interface WorkloadContext {
  server: BenchServer;
  sizes: WorkloadSizes;
  log: (message: string) => void;
}

export interface WorkloadResult {
  metrics: Record<string, number | null>;
  /** Metrics whose value is only a lower bound (jobs still waiting at the time limit). */
  lowerBounds?: string[];
  details: Record<string, unknown>;
  notes: string[];
}

export interface Workload {
  name: string;
  run(system: RunningSystem, ctx: WorkloadContext): Promise<WorkloadResult>;
}

/** Waits until the processes' handlers have started `expected` jobs of `group`, or the limit passes. */
async function waitStarted(
  system: RunningSystem,
  group: string,
  expected: number,
  limitMs: number,
): Promise<number> {
  const deadline = monoMs() + limitMs;
  for (;;) {
    const started = await countStarted(system.processes, group);
    if (started >= expected || monoMs() >= deadline) return started;
    await sleep(50);
  }
}

/** Waits until the database records `expected` jobs of `group` finished; returns when (wall ms), or null. */
async function waitFinished(
  system: RunningSystem,
  group: string,
  expected: number,
  limitMs: number,
): Promise<number | null> {
  const deadline = monoMs() + limitMs;
  for (;;) {
    if ((await system.finished(group, expected)) >= expected) return wallMs();
    if (monoMs() >= deadline) return null;
    await sleep(50);
  }
}

/** Notes when a job ran twice: more handler starts than jobs, or a duplicate in the system's own record. */
function duplicateNotes(
  name: string,
  starts: number,
  expected: number,
  audit: Record<string, unknown> | undefined,
): string[] {
  const notes = starts > expected ? [`${name}: ${starts} handler starts for ${expected} jobs`] : [];
  for (const [key, value] of Object.entries(audit ?? {})) {
    if (key.startsWith('duplicate') && typeof value === 'number' && value > 0)
      notes.push(`${name}: ${key} ${value}`);
  }
  return notes;
}

function partial(name: string, started: number, expected: number, limitSeconds: number): string[] {
  return started < expected
    ? [`${name}: ${started} of ${expected} started within the ${limitSeconds} s limit (partial)`]
    : [];
}

/** Handler starts per second between `from` and the last start (null when nothing started after it). */
function ratePerSec(count: number, from: number, last: number | null): number | null {
  return last === null || last <= from ? null : round(count / ((last - from) / 1_000), 0);
}

const idle: Workload = {
  name: 'idle',
  async run(system, { server, sizes, log }) {
    // PostgreSQL flushes an idle backend's counters within ~10 s: settle first so start-up work is not
    // counted. The counters are read over the maintenance database, so reading adds nothing to them.
    log(`idle: settling ${sizes.settleSeconds} s, then counting transactions for ${sizes.idleSeconds} s`);
    await sleep(sizes.settleSeconds * 1_000);
    const before = await server.transactions(system.database);
    const started = monoMs();
    await sleep(sizes.idleSeconds * 1_000);
    const transactions = (await server.transactions(system.database)) - before;
    const seconds = (monoMs() - started) / 1_000;
    const perProcess = round(transactions / seconds / system.processes.length, 2);
    return {
      metrics: { 'idle.txnPerSecPerProcess': perProcess },
      details: { seconds: round(seconds, 2), transactions, processes: system.processes.length },
      notes: [],
    };
  },
};

const addToStart: Workload = {
  name: 'add-to-start',
  async run(system, { sizes }) {
    const total = sizes.addRate * sizes.addSeconds;
    const start = wallMs() + 200;
    for (let k = 0; k < total; k += 1) {
      await sleepUntil(start + (k * 1_000) / sizes.addRate);
      await system.addOne({ g: 'add', addedAt: wallMs() });
    }
    const waitMs = Math.min(10_000, sizes.limitSeconds * 1_000);
    const started = await waitStarted(system, 'add', total, waitMs);
    const samples = await collectSamples(system.processes, 'add');
    const lag = censoredLags(
      { p50: 'addToStart.p50', p99: 'addToStart.p99' },
      samples.addLags,
      total,
      waitMs,
    );
    if (started < total) await system.discard('add');
    return {
      metrics: lag.metrics,
      lowerBounds: lag.lowerBounds,
      details: { added: total, perSecond: sizes.addRate, started, lag: lag.summary },
      notes: partial('add-to-start', started, total, waitMs / 1_000),
    };
  },
};

const herd: Workload = {
  name: 'herd',
  async run(system, { sizes, log }) {
    const n = sizes.herd;
    const due = nextWholeSecond(2_000 + n / 5);
    const payloads: JobPayload[] = Array.from({ length: n }, () => ({ g: 'herd', dueAt: due }));
    await system.enqueue('herd', payloads, new Date(due));
    const notes: string[] = [];
    if (wallMs() > due) notes.push('herd: enqueueing ended after the due second');
    log(`herd: ${n} jobs due at ${new Date(due).toISOString()}`);
    await sleepUntil(due);
    const limitMs = sizes.limitSeconds * 1_000;
    const started = await waitStarted(system, 'herd', n, limitMs);
    const samples = await collectSamples(system.processes, 'herd');
    const { first, last } = firstAndLast(samples.starts);
    const lags = censoredLags({ p50: 'herd.lagP50', p99: 'herd.lagP99' }, samples.lags, n, limitMs);
    const lag = lags.summary;
    if (started < n) await system.discard('herd');
    const audit = await system.audit?.('herd');
    return {
      metrics: {
        'herd.allStartedMs': started < n || last === null ? limitMs : round(last - due, 0),
        ...lags.metrics,
      },
      lowerBounds: [...(started < n ? ['herd.allStartedMs'] : []), ...lags.lowerBounds],
      details: {
        count: n,
        started,
        dueAt: new Date(due).toISOString(),
        firstStartAfterDueMs: first === null ? null : first - due,
        lastStartAfterDueMs: last === null ? null : last - due,
        lag,
        perProcess: samples.perChild,
        audit,
      },
      notes: [
        ...notes,
        ...partial('herd', started, n, sizes.limitSeconds),
        ...duplicateNotes('herd', samples.starts.length, n, audit),
      ],
    };
  },
};

const steady: Workload = {
  name: 'steady',
  async run(system, { sizes, log }) {
    // Offered in ticks of 50 ms, each one transaction of rate/20 jobs due now, stamped with the tick's
    // intended time: the lag includes the enqueue round trip, the same for every system.
    const tickMs = 50;
    const perTick = Math.max(1, Math.round((sizes.steadyRate * tickMs) / 1_000));
    const ticks = Math.round((sizes.steadySeconds * 1_000) / tickMs);
    const total = perTick * ticks;
    log(`steady: ${perTick * (1_000 / tickMs)} jobs/s for ${sizes.steadySeconds} s (${total} jobs)`);
    const start = wallMs() + 200;
    let lateTicks = 0;
    for (let k = 0; k < ticks; k += 1) {
      const at = start + k * tickMs;
      if (wallMs() > at + tickMs) lateTicks += 1;
      await sleepUntil(at);
      await system.enqueue(
        'steady',
        Array.from({ length: perTick }, () => ({ g: 'steady', dueAt: at })),
        null,
      );
    }
    const limitMs = sizes.limitSeconds * 1_000;
    const started = await waitStarted(system, 'steady', total, limitMs);
    const samples = await collectSamples(system.processes, 'steady');
    const lags = censoredLags(
      { p50: 'steady.lagP50', p99: 'steady.lagP99', max: 'steady.lagMax' },
      samples.lags,
      total,
      limitMs,
    );
    const lag = lags.summary;
    if (started < total) await system.discard('steady');
    const notes = partial('steady', started, total, sizes.limitSeconds);
    if (lateTicks > 0) notes.push(`steady: the orchestrator fell behind on ${lateTicks} of ${ticks} ticks`);
    return {
      metrics: lags.metrics,
      lowerBounds: lags.lowerBounds,
      details: {
        offeredPerSec: perTick * (1_000 / tickMs),
        seconds: sizes.steadySeconds,
        total,
        started,
        lag,
      },
      notes,
    };
  },
};

const drain: Workload = {
  name: 'drain',
  async run(system, { sizes, log }) {
    const n = sizes.drain;
    const payloads: JobPayload[] = Array.from({ length: n }, () => ({ g: 'drain' }));
    const enqueueStarted = wallMs();
    await system.enqueue('drain', payloads, null);
    // Measured from the commit: before it, no worker can see any of the jobs.
    const inserted = wallMs();
    log(`drain: ${n} jobs due now, inserted in ${inserted - enqueueStarted} ms`);
    const limitMs = sizes.limitSeconds * 1_000;
    const started = await waitStarted(system, 'drain', n, limitMs);
    const waitedUntil = wallMs();
    const finishedAt =
      started < n
        ? null
        : await waitFinished(system, 'drain', n, Math.max(5_000, limitMs - (wallMs() - inserted)));
    // A partial drain reports the rates it reached within the limit.
    const finishedByLimit = started < n ? await system.finished('drain', n) : n;
    const samples = await collectSamples(system.processes, 'drain');
    const { last } = firstAndLast(samples.starts);
    if (started < n) await system.discard('drain');
    const audit = await system.audit?.('drain');
    return {
      metrics: {
        'drain.startPerSec': ratePerSec(started, inserted, started < n ? waitedUntil : last),
        'drain.completePerSec':
          started < n
            ? ratePerSec(finishedByLimit, inserted, waitedUntil)
            : finishedAt === null
              ? null
              : ratePerSec(n, inserted, finishedAt),
      },
      details: {
        count: n,
        insertMs: inserted - enqueueStarted,
        started,
        lastStartAfterInsertMs: last === null ? null : last - inserted,
        allFinishedAfterInsertMs: finishedAt === null ? null : finishedAt - inserted,
        perProcess: samples.perChild,
        audit,
      },
      notes: [
        ...partial('drain', started, n, sizes.limitSeconds),
        ...duplicateNotes('drain', samples.starts.length, n, audit),
      ],
    };
  },
};

export const WORKLOADS: readonly Workload[] = [idle, addToStart, herd, steady, drain];
