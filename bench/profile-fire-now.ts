/**
 * Where a `fireNow` spends its time, from the call to the handler's start (issue #16's add-to-start):
 * R schedulers in this one process (so one clock times every step) on a fresh database, N paced
 * `fireNow` calls of a no-op job, and per call the moments of: the call, its return (the insert and
 * NOTIFY committed), its `trigger:fired` (after the acquisition that recorded it, or at the claim of the
 * attempt `fireNow` recorded: decision 0010), and the handler's start.
 *
 *   npx tsx bench/profile-fire-now.ts [--replicas 3] [--fires 200] [--rate 20]
 */
import pino from 'pino';
import { intFlag, parseFlags } from './support/args.js';
import { runMain } from './support/cleanup.js';
import { startBenchServer } from './support/postgres.js';
import { percentile, round } from './support/stats.js';
import { monoMs, sleep } from './support/time.js';
import { createScheduler } from '../src/scheduler.js';

await runMain(async () => {
  const flags = parseFlags({
    replicas: { type: 'string' },
    fires: { type: 'string' },
    rate: { type: 'string' },
  });
  const replicas = intFlag(flags.replicas, 3);
  const fires = intFlag(flags.fires, 200);
  const rate = intFlag(flags.rate, 20);
  const server = await startBenchServer({ prefix: 'bench-pg-firenow' });
  const url = await server.createDatabase('fire_now');
  const started = new Map<string, number>();
  const acquired: number[] = [];
  const announced = new Map<string, number>();
  const acquisitionMs: number[] = [];
  class Noop {
    execute(ctx: { fire: { trigger: string } }): null {
      started.set(ctx.fire.trigger, monoMs());
      return null;
    }
  }
  const schedulers = Array.from({ length: replicas }, (_, i) => {
    const scheduler = createScheduler({
      connectionString: url,
      schema: 'belfry',
      instanceName: `fire-now-${i + 1}`,
      logger: pino({ level: 'warn' }),
    });
    scheduler.registerJob('noop', Noop);
    // Acquired (the planner's path: after the acquisition's commit) or claimed (decision 0010).
    scheduler.on('trigger:fired', (e) => announced.set(e.trigger, monoMs()));
    scheduler.on('acquisition:finished', (e) => {
      if (e.batchSize > 0) {
        acquired.push(monoMs());
        acquisitionMs.push(e.durationMs);
      }
    });
    return scheduler;
  });
  for (const scheduler of schedulers) await scheduler.start();
  await sleep(1_000);
  const rows: { call: number; returned: number; name: string }[] = [];
  for (let i = 0; i < fires; i++) {
    const call = monoMs();
    const name = await schedulers[0]!.fireNow('noop');
    rows.push({ call, returned: monoMs(), name });
    await sleep(Math.max(0, 1_000 / rate - (monoMs() - call)));
  }
  await sleep(500);
  const insert: number[] = [];
  const total: number[] = [];
  const afterInsert: number[] = [];
  const acquiredAfter: number[] = [];
  const announcedAfter: number[] = [];
  for (const row of rows) {
    const start = started.get(row.name);
    if (start === undefined) continue;
    insert.push(row.returned - row.call);
    total.push(start - row.call);
    afterInsert.push(start - row.returned);
    const acq = acquired.find((t) => t >= row.returned && t <= start);
    if (acq !== undefined) acquiredAfter.push(acq - row.returned);
    const fired = announced.get(row.name);
    if (fired !== undefined) announcedAfter.push(fired - row.returned);
  }
  const summary = (values: number[]) => {
    const xs = [...values].sort((a, b) => a - b);
    return {
      p50: round(percentile(xs, 50), 2),
      p90: round(percentile(xs, 90), 2),
      p99: round(percentile(xs, 99), 2),
    };
  };
  console.table({
    'call → handler start (add-to-start)': summary(total),
    'call → fireNow returned (insert + NOTIFY)': summary(insert),
    'returned → trigger:fired (acquired or claimed)': summary(announcedAfter),
    'returned → an acquisition committed': summary(acquiredAfter),
    'returned → handler start': summary(afterInsert),
    'acquisition transaction (BEGIN … COMMIT)': summary(acquisitionMs),
  });
  process.stdout.write(`${started.size} of ${fires} started\n`);
  for (const scheduler of schedulers) await scheduler.stop();
  await server.stop();
});
