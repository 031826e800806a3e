/**
 * A chain of three no-op jobs (issue 14): `a` fired by `fireNow`, `b` after a, `c` after b (continuation
 * triggers), on one replica with default settings, against a fresh embedded PostgreSQL.
 *
 * Phase 1 (latency): `--chains` chains (default 10,000) fired at `--rate` per second (default 200); per
 * chain, the end-to-end time from the `fireNow` call to the moment c's outcome is recorded
 * (`execution:finished`), and the three hops inside it. Phase 2 (throughput): `--burst` chains (default
 * 10,000) fired at once; chains completed per second from the first call to the last outcome.
 *
 *   npm run bench:chain [-- --chains 10000 --rate 200 --burst 10000 --replicas 1]
 */
import pino from 'pino';
import { createScheduler, type Scheduler } from '../src/scheduler.js';
import type { JobContext } from '../src/jobs/job.js';
import { insertTrigger, upsertJob } from '../src/store/definition-store.js';
import { jobRecordFromOptions } from '../src/jobs/job-record.js';
import { intFlag, parseFlags } from './support/args.js';
import { runMain } from './support/cleanup.js';
import { startBenchServer } from './support/postgres.js';
import { percentile, round } from './support/stats.js';
import { monoMs, sleep } from './support/time.js';

interface Chain {
  called: number;
  aDone?: number;
  bDone?: number;
  cDone?: number;
}

await runMain(async () => {
  const flags = parseFlags({
    chains: { type: 'string' },
    rate: { type: 'string' },
    burst: { type: 'string' },
    replicas: { type: 'string' },
  });
  const chains = intFlag(flags.chains, 10_000);
  const rate = intFlag(flags.rate, 200);
  const burst = intFlag(flags.burst, 10_000);
  const replicas = intFlag(flags.replicas, 1);
  const server = await startBenchServer({ prefix: 'bench-pg-chain' });
  const url = await server.createDatabase('chain');

  // Each job passes the chain's number on as its result, so c knows which chain it ends.
  const byExecution = new Map<string, number>();
  class A {
    execute(ctx: JobContext<{ chain: number }>) {
      byExecution.set(ctx.fire.executionId, ctx.data.chain);
      return { chain: ctx.data.chain };
    }
  }
  class Next {
    execute(ctx: JobContext) {
      const chain = (ctx.upstream?.result as { chain: number } | null)?.chain ?? -1;
      byExecution.set(ctx.fire.executionId, chain);
      return { chain };
    }
  }
  const schedulers: Scheduler[] = Array.from({ length: replicas }, (_, i) =>
    createScheduler({
      connectionString: url,
      schema: 'belfry',
      instanceName: `chain-${i + 1}`,
      logger: pino({ level: 'warn' }),
    })
      .registerJob('a', A)
      .registerJob('b', Next)
      .registerJob('c', Next),
  );
  for (const scheduler of schedulers) await scheduler.start();
  const ex = schedulers[0]!.executor;
  for (const job of ['a', 'b', 'c']) await upsertJob(ex, jobRecordFromOptions(job, {}, 'code'));
  for (const [name, job, upstream] of [
    ['b-after-a', 'b', 'a'],
    ['c-after-b', 'c', 'b'],
  ] as const) {
    await insertTrigger(ex, {
      trigger: {
        name,
        group: 'chain',
        job,
        kind: 'after',
        spec: { kind: 'after', job: upstream },
        calendarName: null,
        data: null,
        priority: 0,
        startAt: null,
        endAt: null,
        maxFires: null,
        misfirePolicy: 'fire-once-now',
        misfireThresholdMs: 60_000,
        source: 'code',
      },
      nextFireAt: null,
      paused: false,
    });
  }

  let table = new Map<number, Chain>();
  let finished = 0;
  let onAllDone: (() => void) | undefined;
  let expected = 0;
  for (const scheduler of schedulers)
    scheduler.on('execution:finished', (event) => {
      const chain = byExecution.get(event.executionId);
      byExecution.delete(event.executionId);
      const row = chain === undefined ? undefined : table.get(chain);
      if (!row || !event.recorded) return;
      const at = monoMs();
      if (event.job === 'a') row.aDone = at;
      else if (event.job === 'b') row.bDone = at;
      else if (event.job === 'c') {
        row.cDone = at;
        finished += 1;
        if (finished === expected) onAllDone?.();
      }
    });
  const allDone = (n: number, timeoutMs: number) =>
    new Promise<boolean>((resolve) => {
      expected = n;
      if (finished >= n) return resolve(true);
      onAllDone = () => resolve(true);
      void sleep(timeoutMs).then(() => resolve(false));
    });

  await sleep(1_000);
  // Phase 1: paced chains, end-to-end latency.
  const fire = (chain: number) => {
    table.set(chain, { called: monoMs() });
    return schedulers[chain % replicas]!.fireNow('a', { chain });
  };
  const startedMs = monoMs();
  const calls: Promise<string>[] = [];
  for (let i = 0; i < chains; i++) {
    await sleep(startedMs + (i * 1_000) / rate - monoMs());
    calls.push(fire(i));
  }
  await Promise.all(calls);
  const latencyComplete = await allDone(chains, 60_000);
  const rows = [...table.values()];
  const summary = (values: number[]) => {
    const xs = values.sort((x, y) => x - y);
    return {
      p50: round(percentile(xs, 50), 2),
      p99: round(percentile(xs, 99), 2),
      max: round(xs.at(-1) ?? null, 2),
    };
  };
  const done = rows.filter((row) => row.cDone !== undefined);
  const latency = {
    'fireNow call → c recorded (end to end)': summary(done.map((row) => row.cDone! - row.called)),
    'fireNow call → a recorded': summary(done.map((row) => row.aDone! - row.called)),
    'a recorded → b recorded (hop)': summary(done.map((row) => row.bDone! - row.aDone!)),
    'b recorded → c recorded (hop)': summary(done.map((row) => row.cDone! - row.bDone!)),
  };

  // Phase 2: a burst, throughput.
  table = new Map();
  finished = 0;
  const burstStart = monoMs();
  await Promise.all(Array.from({ length: burst }, (_, i) => fire(chains + i)));
  const burstComplete = await allDone(burst, 300_000);
  const burstMs = monoMs() - burstStart;

  console.table(latency);
  const result = {
    replicas,
    phase1: { chains, rate, completed: done.length, complete: latencyComplete },
    phase2: {
      chains: burst,
      completed: finished,
      complete: burstComplete,
      seconds: round(burstMs / 1_000, 2),
      chainsPerSecond: round((finished * 1_000) / burstMs, 0),
      jobsPerSecond: round((finished * 3 * 1_000) / burstMs, 0),
    },
  };
  process.stdout.write(`${JSON.stringify({ latency, ...result }, null, 2)}\n`);
  for (const scheduler of schedulers) await scheduler.stop();
  await server.stop();
});
