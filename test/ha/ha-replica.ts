/**
 * A replica process for the database HA tests: a real scheduler in its own process, configured by
 * environment (DATABASE_URL, which may be a multi-host URL; BELFRY_SESSION_DATABASE_URL; BELFRY_SCHEMA;
 * BELFRY_INSTANCE_NAME; REPLICA_TIMINGS as JSON). Its job `tick` (recover: true) appends a run line to
 * RUN_LOG first thing, and the process appends a clock line every few seconds (src/audit/run-log.ts):
 * the record outside the database that the history is held against. Prints one JSON line per lifecycle
 * event; stops gracefully on SIGTERM.
 */
import { appendFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { createScheduler } from '../../src/scheduler.js';
import type { JobContext } from '../../src/jobs/job.js';
import { formatClockLine, formatRunLine } from '../../src/audit/run-log.js';
import { createClient } from '../../src/store/primary-connection.js';

const env = process.env;
const runLog = env.RUN_LOG || undefined;
const append = (line: string) => {
  if (runLog) appendFileSync(runLog, line, { flag: 'a' });
};

class TickJob {
  async execute(ctx: JobContext<{ maxMs?: number }>) {
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
    await sleep(Math.random() * (ctx.data.maxMs ?? 200), undefined, { signal: ctx.signal }).catch(() => {});
  }
}

const emit = (event: string, extra: Record<string, unknown> = {}) =>
  process.stdout.write(`${JSON.stringify({ event, instance: scheduler?.instanceId, ...extra })}\n`);

const scheduler = createScheduler({
  connectionString: env.DATABASE_URL!,
  sessionConnectionString: env.BELFRY_SESSION_DATABASE_URL || undefined,
  schema: env.BELFRY_SCHEMA,
  instanceName: env.BELFRY_INSTANCE_NAME,
  concurrency: 100,
  timings: env.REPLICA_TIMINGS ? JSON.parse(env.REPLICA_TIMINGS) : undefined,
  shutdownTimeoutMs: 5_000,
  maxIdleMs: 2_000,
});
scheduler.registerJob('tick', TickJob, { recover: true });

async function sampleClock(): Promise<boolean> {
  const client = createClient(env.DATABASE_URL!, { connectionTimeoutMillis: 2_000 });
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
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}
if (runLog) {
  void (async () => {
    for (let tries = 0; tries < 40 && !(await sampleClock()); tries += 1) await sleep(250);
  })();
  setInterval(() => void sampleClock(), 5_000).unref();
}

scheduler.on('leader:elected', (e) => emit('leader:elected', { epoch: e.epoch }));
scheduler.on('instance:fenced', () => emit('instance:fenced'));
process.on('SIGTERM', () => {
  void scheduler.stop().then(() => process.exit(0));
});
try {
  await scheduler.start();
  emit('started', { replication: scheduler.replication });
} catch (error) {
  emit('start-failed', {
    code: (error as { code?: string }).code,
    message: (error as Error).message,
  });
  await scheduler.stop({ timeoutMs: 1_000 }).catch(() => {});
  process.exit(3);
}
