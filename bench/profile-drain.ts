/**
 * The default drain, measured alone (issue #16): R replicas (bench/belfry-replica.ts) on a fresh database,
 * N `fireNow` one-offs due now, a no-op job; then a herd of N due at the same future second. Per
 * concurrency: drain rate (first to last handler start, from job_history), herd spread (last start minus
 * the scheduled second), transactions and statements per fire (pg_stat_database, pg_stat_statements when
 * present), peak RSS per replica, connections per replica. Optionally writes a V8 CPU profile per replica
 * (summarize with bench/profile-summary.ts).
 *
 *   npx tsx bench/profile-drain.ts [--jobs 20000] [--replicas 3] [--concurrency default,10,100]
 *                                  [--batch-size N] [--repeat 1] [--cpu-prof DIR] [--no-herd]
 *                                  [--enqueue fire-now|one-off] [--drain-jobs N]
 */
import pg from 'pg';
import { cpuPerFireUs, cpuSnapshot, rssMb } from './support/proc-cpu.js';
import { intFlag, parseFlags, stringFlag } from './support/args.js';
import { fireNowMany, historyLag, insertOneOffTriggers, waitFinished } from './support/belfry-db.js';
import { runMain } from './support/cleanup.js';
import { startBenchServer } from './support/postgres.js';
import { round } from './support/stats.js';
import { monoMs, sleep, wallMs } from './support/time.js';
import { startReplicas } from './systems/belfry.js';
import { stopAll } from './support/children.js';
import { openDatabase } from '../src/store/database.js';
import { migrate } from '../src/store/migrator.js';

const SCHEMA = 'belfry';

const payloads = (n: number) => Array.from({ length: n }, () => ({}));

await runMain(async () => {
  const flags = parseFlags({
    jobs: { type: 'string' },
    replicas: { type: 'string' },
    concurrency: { type: 'string' },
    'batch-size': { type: 'string' },
    repeat: { type: 'string' },
    'cpu-prof': { type: 'string' },
    'no-herd': { type: 'boolean' },
    enqueue: { type: 'string' },
    'drain-jobs': { type: 'string' },
  });
  const jobs = intFlag(flags.jobs, 20_000);
  // The drain's size, when it should differ from the herd's (e.g. a small drain as a warm-up before a
  // profiled herd).
  const drainJobs = intFlag(flags['drain-jobs'], jobs);
  const replicas = intFlag(flags.replicas, 3);
  const repeat = intFlag(flags.repeat, 1);
  const batchSize = flags['batch-size'] === undefined ? undefined : intFlag(flags['batch-size'], 500);
  const levels = (stringFlag(flags.concurrency) ?? 'default').split(',');
  const cpuProfDir = stringFlag(flags['cpu-prof']);
  // What the drain enqueues: `fireNow`'s rows (fired, with pending attempts the replicas claim), or
  // waiting one-offs due now that the planner fires (what `scheduleAt(now)` writes).
  const enqueue = stringFlag(flags.enqueue) ?? 'fire-now';
  const server = await startBenchServer({ prefix: 'bench-pg-drain' });
  const rows: Record<string, unknown>[] = [];
  for (let run = 0; run < repeat; run++) {
    for (const level of levels) {
      const concurrency = level === 'default' ? undefined : Number(level);
      const databaseName = `drain_${level}_${run}`;
      const url = await server.createDatabase(databaseName);
      const pool = new pg.Pool({ connectionString: url, max: 2 });
      await migrate(pool, SCHEMA);
      const database = openDatabase({ connectionString: url, schema: SCHEMA, maxConnections: 2 });
      const ex = { db: database.db, schema: SCHEMA };
      const names = Array.from({ length: replicas }, (_, i) => `drain-${level}-${i + 1}`);
      const children = startReplicas(
        { logDir: '.tmp/bench-logs' },
        {
          url,
          schema: SCHEMA,
          names,
          options: { concurrency, batchSize, cpuProfDir: cpuProfDir ? `${cpuProfDir}/${level}` : undefined },
        },
      );
      await Promise.all(children.map((child) => child.ready()));
      await sleep(1_000);
      const idleRss = Math.max(...children.map((child) => rssMb(child.pid)));
      let peakRss = 0;
      const sampler = setInterval(() => {
        for (const child of children) peakRss = Math.max(peakRss, rssMb(child.pid));
      }, 250);
      const waitAll = (group: string, n: number) => waitFinished(pool, SCHEMA, { group, n });
      const xactsBefore = await server.transactions(databaseName);

      const pids = children.map((child) => child.pid);
      const cpuBefore = await cpuSnapshot(pool, databaseName, pids);
      // Drain: N due now.
      const enqueuedAt = wallMs();
      const started = monoMs();
      if (enqueue === 'fire-now')
        await fireNowMany(ex, { group: 'drain', job: 'noop', data: payloads(drainJobs) });
      else
        await insertOneOffTriggers(pool, SCHEMA, {
          group: 'drain',
          job: 'noop',
          at: null,
          data: payloads(drainJobs),
        });
      await waitAll('drain', drainJobs);
      const drainWallMs = monoMs() - started;
      const drain = await historyLag(pool, SCHEMA, 'drain');
      const cpuAfterDrain = await cpuSnapshot(pool, databaseName, pids);
      const xacts = (await server.transactions(databaseName)) - xactsBefore;
      const { rows: connections } = await pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND application_name <> ''`,
        [databaseName],
      );

      // Herd: N due at one future second (enqueued ahead, so the insert is not measured).
      let herdSpreadMs: number | null = null;
      let herdCpu: ReturnType<typeof cpuPerFireUs> | null = null;
      if (!flags['no-herd']) {
        const herdCpuBefore = await cpuSnapshot(pool, databaseName, pids);
        const at = Math.ceil((wallMs() + 3_000) / 1_000) * 1_000;
        await insertOneOffTriggers(pool, SCHEMA, {
          group: 'herd',
          job: 'noop',
          at: new Date(at),
          data: Array.from({ length: jobs }, () => ({})),
        });
        await waitAll('herd', jobs);
        const herd = await historyLag(pool, SCHEMA, 'herd');
        herdSpreadMs = herd.lastStartMs === null ? null : herd.lastStartMs - at;
        herdCpu = cpuPerFireUs(herdCpuBefore, await cpuSnapshot(pool, databaseName, pids), jobs);
      }
      clearInterval(sampler);
      rows.push({
        run,
        concurrency: level,
        drainFiresPerSec: round(
          drain.firstStartMs !== null && drain.lastStartMs !== null
            ? (drainJobs * 1_000) / Math.max(1, drain.lastStartMs - enqueuedAt)
            : null,
          0,
        ),
        drainAllFinishedMs: round(drainWallMs, 0),
        drainLagP50Ms: round(drain.lag.p50, 0),
        herdLastStartMs: round(herdSpreadMs, 0),
        xactsPerFire: round(xacts / drainJobs, 2),
        drainCpuUsPerFire: cpuPerFireUs(cpuBefore, cpuAfterDrain, drainJobs),
        herdCpuUsPerFire: herdCpu,
        idleRssMbPerReplica: round(idleRss, 0),
        peakRssMbPerReplica: round(peakRss, 0),
        connections: connections[0]!.n,
      });
      process.stdout.write(`${JSON.stringify(rows.at(-1))}\n`);
      await stopAll(children, { graceMs: 15_000 });
      await pool.end();
      await database.destroy();
    }
  }
  console.table(rows);
  await server.stop();
});
