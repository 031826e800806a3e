/**
 * A replica process running long-running services, for the services chaos test and bench/services.ts.
 * Environment: DATABASE_URL, BELFRY_SCHEMA, BELFRY_INSTANCE_NAME, REPLICA_TIMINGS (JSON), SERVICES (JSON
 * list of { name, shards, kind: 'chaos' | 'idle' }), INTERVAL_LOG (a file). Stops gracefully on SIGTERM.
 * Prints one JSON line per event on stdout, stamped with `t`: CLOCK_MONOTONIC in ms, shared by every
 * process on the machine (libfaketime leaves it alone), so the test can order events across processes.
 *
 * A 'chaos' service is the independent record of ownership: every 50 ms it bumps its checkpoint
 * ({ seq }) and then appends `{ service, shard, epoch, pid, start, end }` to INTERVAL_LOG, with `end`
 * stamped BEFORE it asks `ctx.holdsLease()`: a line is written only if the lease was still held after the
 * stamp, so every interval is one during which this process held the shard. Checkpoints it got through
 * are appended as `{ checkpoint: seq }` lines, so the test can check they only ever grow.
 */
import { appendFileSync } from 'node:fs';
import { createScheduler } from '../../src/scheduler.js';
import type { ServiceContext } from '../../src/hosted/hosted-service.js';

const env = process.env;
const intervalLog = env.INTERVAL_LOG || undefined;
const mono = () => Number(process.hrtime.bigint() / 1000n) / 1000;
/** One write(2) per line with O_APPEND: lines from several replicas never interleave. */
const append = (record: Record<string, unknown>) => {
  if (intervalLog) appendFileSync(intervalLog, `${JSON.stringify(record)}\n`, { flag: 'a' });
};
const wait = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });

class ChaosService {
  async run(ctx: ServiceContext<Record<string, unknown>, { seq: number }>) {
    const start = mono();
    const base = { service: ctx.service, shard: ctx.shard, epoch: ctx.epoch, pid: process.pid };
    let seq = (await ctx.checkpoint.get())?.seq ?? 0;
    while (!ctx.signal.aborted) {
      try {
        await ctx.checkpoint.set({ seq: seq + 1 });
        seq += 1;
        const at = mono();
        if (ctx.holdsLease()) append({ ...base, checkpoint: seq, at });
      } catch {
        // Refused (fenced) or the database is away: the signal tells which; the loop condition decides.
      }
      const end = mono();
      if (ctx.holdsLease()) append({ ...base, start, end });
      await wait(50, ctx.signal);
    }
  }
}

class IdleService {
  async run(ctx: ServiceContext) {
    await wait(2 ** 31 - 1, ctx.signal);
  }
}

const scheduler = createScheduler({
  connectionString: env.DATABASE_URL!,
  schema: env.BELFRY_SCHEMA,
  instanceName: env.BELFRY_INSTANCE_NAME,
  timings: env.REPLICA_TIMINGS ? JSON.parse(env.REPLICA_TIMINGS) : undefined,
  shutdownTimeoutMs: 5_000,
});
const services = JSON.parse(env.SERVICES ?? '[]') as { name: string; shards: number; kind: string }[];
for (const s of services) {
  scheduler.registerService(s.name, s.kind === 'idle' ? IdleService : ChaosService, {
    shards: s.shards,
    stopTimeoutMs: 2_000,
    restart: { initialMs: 100, maxMs: 1_000 },
  });
}

const emit = (event: string, extra: Record<string, unknown> = {}) =>
  process.stdout.write(
    `${JSON.stringify({ event, instance: scheduler.instanceId, pid: process.pid, t: mono(), ...extra })}\n`,
  );
scheduler.on('service:started', (e) => emit('service:started', { ...e }));
scheduler.on('service:stopped', (e) => emit('service:stopped', { ...e }));
scheduler.on('instance:fenced', () => emit('instance:fenced'));

process.on('SIGTERM', () => {
  const t = mono();
  void scheduler.stop().then(() => {
    emit('stopped', { stopMs: mono() - t });
    process.exit(0);
  });
});
await scheduler.start();
emit('started');
