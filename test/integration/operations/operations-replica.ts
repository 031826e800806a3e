/**
 * A replica process for the continuation and cancel tests (real processes, SIGKILL-able). Jobs:
 * - `up` (recover: true): sleeps data.ms (default 800 ms) honouring its signal, returns { pid };
 * - `down` (recover: true): a continuation of `up`; returns at once;
 * - `long`: runs until its signal is aborted, then prints `aborted` with the abort reason's code.
 * Every handler start appends a run line (src/audit/run-log.ts) to RUN_LOG. Prints lifecycle events as
 * JSON lines on stdout (test/support/cluster.ts reads them); stops gracefully on SIGTERM.
 */
import { appendFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { createScheduler } from '../../../src/scheduler.js';
import type { JobContext } from '../../../src/jobs/job.js';
import { formatRunLine } from '../../../src/audit/run-log.js';

const env = process.env;

function logRun(ctx: JobContext): void {
  if (!env.RUN_LOG) return;
  appendFileSync(
    env.RUN_LOG,
    formatRunLine({
      trigger: ctx.fire.trigger,
      scheduledAt: ctx.fire.scheduledAt,
      attempt: ctx.fire.attempt,
      executionId: ctx.fire.executionId,
      instanceId: scheduler.instanceId,
      pid: process.pid,
      wallTime: new Date(),
    }),
    { flag: 'a' },
  );
}

class Up {
  async execute(ctx: JobContext<{ ms?: number }>) {
    logRun(ctx);
    await sleep(ctx.data.ms ?? 800, undefined, { signal: ctx.signal });
    return { pid: process.pid };
  }
}

class Down {
  execute(ctx: JobContext) {
    logRun(ctx);
    return { upstream: ctx.upstream?.fireId ?? null };
  }
}

class Long {
  async execute(ctx: JobContext) {
    logRun(ctx);
    await new Promise<void>((resolve) =>
      ctx.signal.addEventListener('abort', () => resolve(), { once: true }),
    );
    const reason = ctx.signal.reason as { code?: string } | undefined;
    emit('aborted', { executionId: ctx.fire.executionId, code: reason?.code ?? null });
    return { stoppedEarly: true };
  }
}

const scheduler = createScheduler({
  connectionString: env.DATABASE_URL!,
  schema: env.BELFRY_SCHEMA,
  instanceName: env.BELFRY_INSTANCE_NAME,
  concurrency: Number(env.REPLICA_CONCURRENCY ?? 50),
  timings: env.REPLICA_TIMINGS ? JSON.parse(env.REPLICA_TIMINGS) : undefined,
  shutdownTimeoutMs: 2_000,
  maxIdleMs: 2_000,
});
scheduler.registerJob('up', Up, { recover: true });
scheduler.registerJob('down', Down, { recover: true });
scheduler.registerJob('long', Long);

const emit = (event: string, extra: Record<string, unknown> = {}) =>
  process.stdout.write(`${JSON.stringify({ event, instance: scheduler.instanceId, ...extra })}\n`);
scheduler.on('execution:started', (e) =>
  emit('execution:started', { executionId: e.executionId, job: e.job, attempt: e.attempt }),
);
scheduler.on('leader:elected', (e) => emit('leader:elected', { epoch: e.epoch }));

process.on('SIGTERM', () => {
  void scheduler.stop().then(() => process.exit(0));
});
await scheduler.start();
emit('started');
