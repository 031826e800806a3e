/**
 * A replica process for the cluster and chaos tests: a real scheduler in its own process, with test jobs.
 * Configured by environment: DATABASE_URL, BELFRY_SCHEMA, BELFRY_INSTANCE_NAME, REPLICA_TIMINGS (JSON),
 * REPLICA_CONCURRENCY. Stops gracefully on SIGTERM; prints one JSON line per lifecycle event on stdout.
 *
 * With RUN_LOG set, every handler start appends a run line to that file, and the process appends a clock
 * line (its wall clock against the database's) at start and every few seconds: the independent record
 * that `checkRunLog` holds against the history (src/audit/run-log.ts).
 */
import { appendFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { createScheduler } from '../../src/scheduler.js';
import type { JobContext } from '../../src/jobs/job.js';
import { formatClockLine, formatRunLine } from '../../src/audit/run-log.js';

const env = process.env;
const runLog = env.RUN_LOG || undefined;
/** One write(2) per line with O_APPEND: lines from several replicas never interleave. */
const append = (line: string) => {
  if (runLog) appendFileSync(runLog, line, { flag: 'a' });
};

class NoopJob {
  execute() {}
}

/** Sleeps data.minMs..data.maxMs (default 0–500 ms), honouring its signal. */
class SleepJob {
  async execute(ctx: JobContext<{ minMs?: number; maxMs?: number }>) {
    append(
      formatRunLine({
        trigger: ctx.fire.trigger,
        scheduledAt: ctx.fire.scheduledAt,
        attempt: ctx.fire.attempt,
        executionId: ctx.fire.executionId,
        instanceId: scheduler.instanceId,
        pid: process.pid,
        wallTime: new Date(),
      }),
    );
    const min = ctx.data.minMs ?? 0;
    const max = ctx.data.maxMs ?? 500;
    await sleep(min + Math.random() * (max - min), undefined, { signal: ctx.signal }).catch(() => {});
  }
}

const scheduler = createScheduler({
  connectionString: env.DATABASE_URL!,
  schema: env.BELFRY_SCHEMA,
  instanceName: env.BELFRY_INSTANCE_NAME,
  concurrency: Number(env.REPLICA_CONCURRENCY ?? 50),
  timings: env.REPLICA_TIMINGS ? JSON.parse(env.REPLICA_TIMINGS) : undefined,
  shutdownTimeoutMs: 5_000,
  maxIdleMs: 2_000,
});
scheduler.registerJob('noop', NoopJob);
scheduler.registerJob('sleep', SleepJob);
scheduler.registerJob('sleep-recover', SleepJob, { recover: true });
scheduler.registerJob('ops-sleep', SleepJob);
// The chaos test's chain: chain-a on an interval, chain-b after chain-a, chain-c after chain-b.
for (const job of ['chain-a', 'chain-b', 'chain-c']) scheduler.registerJob(job, SleepJob, { recover: true });

/** Pairs this process's wall clock (faked under libfaketime) with the database's clock_timestamp(). */
async function sampleClock(): Promise<boolean> {
  const client = new pg.Client({ connectionString: env.DATABASE_URL, connectionTimeoutMillis: 2_000 });
  client.on('error', () => {});
  try {
    await client.connect();
    const before = Date.now();
    const { rows } = await client.query<{ now: Date }>('SELECT clock_timestamp() AS now');
    const after = Date.now();
    append(
      formatClockLine({
        pid: process.pid,
        wallTime: new Date((before + after) / 2),
        dbTime: rows[0]!.now,
        rttMs: after - before,
      }),
    );
    return true;
  } catch {
    // The database is restarting or this connection was cut: the next sample will do.
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}
if (runLog) {
  // The first sample matters most (a process killed early must still be placeable): retry it quickly.
  void (async () => {
    for (let tries = 0; tries < 40 && !(await sampleClock()); tries += 1) await sleep(250);
  })();
  setInterval(() => void sampleClock(), 5_000).unref();
}

const emit = (event: string, extra: Record<string, unknown> = {}) =>
  process.stdout.write(`${JSON.stringify({ event, instance: scheduler.instanceId, ...extra })}\n`);
scheduler.on('leader:elected', (e) => emit('leader:elected', { epoch: e.epoch }));
scheduler.on('leader:lost', (e) => emit('leader:lost', { epoch: e.epoch }));
scheduler.on('execution:started', (e) =>
  emit('execution:started', { executionId: e.executionId, job: e.job, attempt: e.attempt }),
);
scheduler.on('instance:fenced', () => emit('instance:fenced'));

process.on('SIGTERM', () => {
  void scheduler.stop().then(() => process.exit(0));
});
await scheduler.start();
emit('started');
