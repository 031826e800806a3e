/**
 * `npm run bench:failover` (tsx bench/failover.ts): how fast a Belfry cluster heals, median of N trials.
 *
 *   1. replica-kill: SIGKILL of a replica running a recoverable job (`recover: true`, sleeps until
 *      released) → until its re-dispatched attempt starts on another replica (handler start, wall clock).
 *   2. leader-kill: SIGKILL of the leader → until another replica is elected (`leader:elected` with a
 *      higher epoch; cross-checked against `leader_terms.acquired_at`).
 *   3. leader-stop: graceful stop (SIGTERM) of the leader → until another replica is elected.
 *   4. missed fires: interval triggers every 1 s run through all the trials above; afterwards
 *      `job_history` must show exactly one fire per (trigger, scheduled time): expected 0 missing.
 *
 * Every killed replica is replaced, and the cluster is stable (all replicas active, one valid leader)
 * before the next trial. Own embedded PostgreSQL, removed at the end; children always cleaned up.
 *
 *   npm run bench:failover -- --trials 10 --processes 3 --interval-triggers 100 [--quick]
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { intFlag, parseFlags, stringFlag } from './support/args.js';
import {
  activeInstanceNames,
  exactlyOnce,
  insertBenchTriggers,
  leaderInfo,
  termAcquiredAt,
} from './support/belfry-db.js';
import type { BenchChild, ChildMessage } from './support/children.js';
import { onCleanup, runMain } from './support/cleanup.js';
import { startBenchServer } from './support/postgres.js';
import { writeJson } from './support/report.js';
import { round, summarize } from './support/stats.js';
import { monoMs, nextWholeSecond, sleep, waitFor, wallMs } from './support/time.js';
import { startReplicas } from './systems/belfry.js';
import { openDatabase } from '../src/store/database.js';
import { insertOneOffTrigger } from '../src/store/definition-store.js';
import { migrate } from '../src/store/migrator.js';
import { DEFAULT_TIMINGS, type ClusterTimings } from '../src/scheduler.js';

type Kind = 'replica-kill' | 'leader-kill' | 'leader-stop';

interface Trial {
  kind: Kind;
  ms: number | null;
  victim: string;
  victimWasLeader: boolean;
  /** leader trials: DB-side time (leader_terms.acquired_at) minus the signal, ms. */
  dbMs?: number | null;
  error?: string;
}

const SCHEMA = 'belfry';
const DATABASE = 'bench_failover';

await runMain(async () => {
  const flags = parseFlags({
    trials: { type: 'string' },
    processes: { type: 'string' },
    'interval-triggers': { type: 'string' },
    kinds: { type: 'string' },
    timings: { type: 'string' },
    quick: { type: 'boolean' },
    out: { type: 'string' },
    help: { type: 'boolean' },
  });
  if (flags.help) {
    process.stdout.write(
      'Usage: npm run bench:failover -- [--trials N (10; quick 3)] [--processes N (3)] [--interval-triggers N (100)]\n' +
        '         [--kinds replica-kill,leader-kill,leader-stop] [--timings JSON (ClusterTimings overrides)] [--out PATH]\n',
    );
    return;
  }
  const trials = Math.max(1, intFlag(flags.trials, flags.quick ? 3 : 10));
  const processes = Math.max(2, intFlag(flags.processes, 3));
  const intervalTriggers = intFlag(flags['interval-triggers'], 100);
  const kinds = (stringFlag(flags.kinds) ?? 'replica-kill,leader-kill,leader-stop').split(',') as Kind[];
  const timingOverrides = stringFlag(flags.timings)
    ? (JSON.parse(stringFlag(flags.timings)!) as Partial<ClusterTimings>)
    : {};
  const timings = { ...DEFAULT_TIMINGS, ...timingOverrides };
  const outPath = stringFlag(flags.out) ?? join(process.cwd(), '.tmp', 'bench-failover.json');
  const t0 = monoMs();
  const log = (message: string) =>
    process.stdout.write(`[${((monoMs() - t0) / 1_000).toFixed(1).padStart(6)} s] ${message}\n`);
  const logDir = join(
    process.cwd(),
    '.tmp',
    'bench-logs',
    `failover-${new Date(wallMs()).toISOString().replace(/[:.]/g, '-')}`,
  );

  log(`starting PostgreSQL (embedded); child logs in ${logDir}`);
  const server = await startBenchServer({
    prefix: 'bench-pg-failover',
    logFile: join(logDir, 'postgres.log'),
  });
  const url = await server.createDatabase(DATABASE);
  const database = openDatabase({
    connectionString: url,
    schema: SCHEMA,
    maxConnections: 3,
    applicationName: 'bench-orchestrator',
  });
  onCleanup('close the orchestrator pool (failover)', () => database.destroy());
  const pool = database.pool;
  await migrate(pool, SCHEMA);

  const options = { concurrency: 50, batchSize: 500 };
  let counter = 0;
  const alive: BenchChild[] = [];
  const spawn = async (count: number) => {
    const names = Array.from({ length: count }, () => `replica-${++counter}`);
    const started = startReplicas(
      { logDir },
      { url, schema: SCHEMA, names, options, timings: timingOverrides },
    );
    alive.push(...started);
    await Promise.all(started.map((child) => child.ready()));
    return started;
  };
  const byName = (name: string | null) => alive.find((child) => child.name === name && child.alive);
  const forget = (child: BenchChild) => alive.splice(alive.indexOf(child), 1);
  /** All replicas active in the database and one valid leader among them. */
  const stable = async () => {
    const ok = await waitFor(
      async () => {
        const live = alive
          .filter((c) => c.alive)
          .map((c) => c.name)
          .sort();
        const active = await activeInstanceNames(pool, SCHEMA);
        const leader = await leaderInfo(pool, SCHEMA);
        return (
          live.length === processes &&
          JSON.stringify(active) === JSON.stringify(live) &&
          leader.valid &&
          live.includes(leader.holderName ?? '')
        );
      },
      { timeoutMs: 60_000, everyMs: 100 },
    );
    if (!ok) throw new Error('cluster did not become stable within 60 s');
  };

  await spawn(processes);
  const intervalStart = nextWholeSecond(2_000);
  if (intervalTriggers > 0) {
    await insertBenchTriggers(pool, SCHEMA, {
      group: 'on-time',
      job: 'noop',
      triggers: Array.from({ length: intervalTriggers }, (_, i) => ({
        name: `on-time-${i}`,
        kind: 'interval',
        everyMs: 1_000,
        anchorMs: 0,
        firstAt: intervalStart,
      })),
    });
  }
  await stable();
  log(
    `${processes} replicas, ${intervalTriggers} interval triggers every 1 s; timings ${JSON.stringify(timings)}`,
  );

  const results: Trial[] = [];
  const ex = { db: database.db, schema: SCHEMA };
  const nextMessage = (match: (m: ChildMessage) => boolean, timeoutMs: number) =>
    new Promise<ChildMessage>((resolve, reject) => {
      const offs = alive.map((child) => child.on((m) => m && match(m) && done(m)));
      const timer = setTimeout(
        () => finish(new Error(`no matching message within ${timeoutMs} ms`)),
        timeoutMs,
      );
      function done(message: ChildMessage) {
        finish(undefined, message);
      }
      function finish(error?: Error, message?: ChildMessage) {
        clearTimeout(timer);
        offs.forEach((off) => off());
        if (error) reject(error);
        else resolve(message!);
      }
    });

  for (const kind of kinds) {
    for (let trial = 1; trial <= trials; trial += 1) {
      const leader = await leaderInfo(pool, SCHEMA);
      let victim: BenchChild | undefined;
      const record: Trial = { kind, ms: null, victim: '', victimWasLeader: false };
      try {
        if (kind === 'replica-kill') {
          const firstStart = nextMessage((m) => m.type === 'sleep-started' && m.attempt === 1, 30_000);
          await insertOneOffTrigger(ex, {
            name: `sleep.once.${randomUUID()}`,
            job: 'sleep',
            group: 'failover-sleep',
            at: null,
            data: { trial },
          });
          const started = await firstStart;
          victim = byName(String(started.instanceName));
          if (!victim)
            throw new Error(`sleep job started on unknown replica ${String(started.instanceName)}`);
          const redispatched = nextMessage(
            (m) => m.type === 'sleep-started' && m.fireId === started.fireId && Number(m.attempt) > 1,
            60_000,
          );
          const signalAt = wallMs();
          victim.kill('SIGKILL');
          const again = await redispatched;
          record.ms = Number(again.at) - signalAt;
          alive.forEach((child) => child.send({ type: 'release' }));
        } else {
          victim = byName(leader.holderName);
          if (!victim) throw new Error(`leader ${leader.holderName} is not a live replica`);
          const elected = nextMessage(
            (m) =>
              m.type === 'event' &&
              m.name === 'leader:elected' &&
              Number((m.payload as { epoch: number }).epoch) > leader.epoch &&
              m.instanceName !== victim!.name,
            60_000,
          );
          const signalAt = wallMs();
          victim.kill(kind === 'leader-kill' ? 'SIGKILL' : 'SIGTERM');
          const event = await elected;
          record.ms = Number(event.at) - signalAt;
          const acquired = await termAcquiredAt(
            pool,
            SCHEMA,
            Number((event.payload as { epoch: number }).epoch),
          );
          record.dbMs = acquired === null ? null : round(acquired - signalAt, 1);
        }
        record.victim = victim.name;
        record.victimWasLeader = victim.name === leader.holderName;
      } catch (error) {
        record.error = (error as Error).message;
      }
      results.push(record);
      log(
        `${kind} #${trial}: ${record.ms === null ? `failed (${record.error})` : `${record.ms} ms`}${record.victimWasLeader && kind === 'replica-kill' ? ' (victim was the leader)' : ''}`,
      );
      if (victim) {
        await victim.exited;
        forget(victim);
      }
      await spawn(processes - alive.filter((c) => c.alive).length);
      await stable();
    }
  }

  // Missed fires: every scheduled time up to a couple of seconds ago must have exactly one fire.
  await sleep(1_500);
  const until = new Date(Math.floor((wallMs() - 3_000) / 1_000) * 1_000);
  const once = intervalTriggers > 0 ? await exactlyOnce(pool, SCHEMA, 'on-time', { until }) : null;

  const summary = Object.fromEntries(
    kinds.map((kind) => {
      const done = results.filter((r) => r.kind === kind && r.ms !== null);
      const s = summarize(done.map((r) => r.ms!));
      return [
        kind,
        {
          trials: results.filter((r) => r.kind === kind).length,
          succeeded: done.length,
          medianMs: round(s.p50),
          minMs: round(Math.min(...done.map((r) => r.ms!))),
          maxMs: round(s.max),
          victimWasLeader: done.filter((r) => r.victimWasLeader).length,
          values: done.map((r) => r.ms),
        },
      ];
    }),
  );
  const report = {
    startedAt: new Date(wallMs() - (monoMs() - t0)).toISOString(),
    processes,
    trials,
    timings,
    belfryOptions: options,
    summary,
    missedFires: once
      ? { window: { from: new Date(intervalStart).toISOString(), until: until.toISOString() }, ...once }
      : null,
    trialsDetail: results,
  };
  await Promise.all(alive.map((child) => child.stop({ graceMs: 10_000 })));
  await server.stop();

  const label: Record<Kind, string> = {
    'replica-kill': 'SIGKILL replica running a recover:true job → re-dispatch started elsewhere',
    'leader-kill': 'SIGKILL leader → new leader elected',
    'leader-stop': 'SIGTERM (graceful) leader → new leader elected',
  };
  process.stdout.write(
    '\n| failover | trials | median (ms) | min | max |\n| --- | ---: | ---: | ---: | ---: |\n',
  );
  for (const kind of kinds) {
    const s = summary[kind]!;
    process.stdout.write(
      `| ${label[kind]} | ${s.succeeded}/${s.trials} | ${s.medianMs ?? '–'} | ${s.minMs ?? '–'} | ${s.maxMs ?? '–'} |\n`,
    );
  }
  if (once) {
    process.stdout.write(
      `| fires missed by ${intervalTriggers} on-time 1 s triggers across ${results.length} kills (expected 0) | ${once.expected} scheduled | missing ${once.missing} | duplicates ${once.duplicateFires + once.duplicateExecutions} | statuses ${JSON.stringify(once.statuses)} |\n`,
    );
  }
  writeJson(outPath, report);
  process.stdout.write(`\nresults: ${outPath}\n`);
});
