/**
 * A replica process for the cluster and chaos tests: a real scheduler in its own process, with test jobs.
 * Configured by environment: DATABASE_URL, BELFRY_SCHEMA, BELFRY_INSTANCE_NAME, REPLICA_TIMINGS (JSON),
 * REPLICA_CONCURRENCY. Stops gracefully on SIGTERM; prints one JSON line per lifecycle event on stdout.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { createScheduler } from '../../src/scheduler.js';
import type { JobContext } from '../../src/jobs/job.js';

class NoopJob {
  execute() {}
}

/** Sleeps data.minMs..data.maxMs (default 0–500 ms), honouring its signal. */
class SleepJob {
  async execute(ctx: JobContext<{ minMs?: number; maxMs?: number }>) {
    const min = ctx.data.minMs ?? 0;
    const max = ctx.data.maxMs ?? 500;
    await sleep(min + Math.random() * (max - min), undefined, { signal: ctx.signal }).catch(() => {});
  }
}

const env = process.env;
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
