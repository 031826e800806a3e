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
 */
import { execFileSync } from 'node:child_process';
import pg from 'pg';
import { intFlag, parseFlags, stringFlag } from './support/args.js';
import { historyLag, insertOneOffTriggers } from './support/belfry-db.js';
import { runMain } from './support/cleanup.js';
import { startBenchServer } from './support/postgres.js';
import { round } from './support/stats.js';
import { monoMs, sleep, wallMs } from './support/time.js';
import { startReplicas } from './systems/belfry.js';
import { stopAll } from './support/children.js';
import { migrate } from '../src/store/migrator.js';

const SCHEMA = 'belfry';

function rssMb(pid: number): number {
  try {
    return (
      Number(
        execFileSync('ps', ['-o', 'rss=', '-p', String(pid)])
          .toString()
          .trim(),
      ) / 1024
    );
  } catch {
    return 0;
  }
}

await runMain(async () => {
  const flags = parseFlags({
    jobs: { type: 'string' },
    replicas: { type: 'string' },
    concurrency: { type: 'string' },
    'batch-size': { type: 'string' },
    repeat: { type: 'string' },
    'cpu-prof': { type: 'string' },
    'no-herd': { type: 'boolean' },
  });
  const jobs = intFlag(flags.jobs, 20_000);
  const replicas = intFlag(flags.replicas, 3);
  const repeat = intFlag(flags.repeat, 1);
  const batchSize = flags['batch-size'] === undefined ? undefined : intFlag(flags['batch-size'], 500);
  const levels = (stringFlag(flags.concurrency) ?? 'default').split(',');
  const cpuProfDir = stringFlag(flags['cpu-prof']);
  const server = await startBenchServer({ prefix: 'bench-pg-drain' });
  const rows: Record<string, unknown>[] = [];
  for (let run = 0; run < repeat; run++) {
    for (const level of levels) {
      const concurrency = level === 'default' ? undefined : Number(level);
      const databaseName = `drain_${level}_${run}`;
      const url = await server.createDatabase(databaseName);
      const pool = new pg.Pool({ connectionString: url, max: 2 });
      await migrate(pool, SCHEMA);
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
      const finished = async (group: string) =>
        (
          await pool.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM ${SCHEMA}.job_history WHERE trigger_group = $1 AND finished_at IS NOT NULL`,
            [group],
          )
        ).rows[0]!.n;
      const waitAll = async (group: string) => {
        while ((await finished(group)) < jobs) await sleep(50);
      };
      const xactsBefore = await server.transactions(databaseName);

      // Drain: N due now.
      const enqueuedAt = wallMs();
      const started = monoMs();
      await insertOneOffTriggers(pool, SCHEMA, {
        group: 'drain',
        job: 'noop',
        at: null,
        data: Array.from({ length: jobs }, () => ({})),
      });
      await waitAll('drain');
      const drainWallMs = monoMs() - started;
      const drain = await historyLag(pool, SCHEMA, 'drain');
      const xacts = (await server.transactions(databaseName)) - xactsBefore;
      const { rows: connections } = await pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND application_name <> ''`,
        [databaseName],
      );

      // Herd: N due at one future second (enqueued ahead, so the insert is not measured).
      let herdSpreadMs: number | null = null;
      if (!flags['no-herd']) {
        const at = Math.ceil((wallMs() + 3_000) / 1_000) * 1_000;
        await insertOneOffTriggers(pool, SCHEMA, {
          group: 'herd',
          job: 'noop',
          at: new Date(at),
          data: Array.from({ length: jobs }, () => ({})),
        });
        await waitAll('herd');
        const herd = await historyLag(pool, SCHEMA, 'herd');
        herdSpreadMs = herd.lastStartMs === null ? null : herd.lastStartMs - at;
      }
      clearInterval(sampler);
      rows.push({
        run,
        concurrency: level,
        drainFiresPerSec: round(
          drain.firstStartMs !== null && drain.lastStartMs !== null
            ? (jobs * 1_000) / Math.max(1, drain.lastStartMs - enqueuedAt)
            : null,
          0,
        ),
        drainAllFinishedMs: round(drainWallMs, 0),
        drainLagP50Ms: round(drain.lag.p50, 0),
        herdLastStartMs: round(herdSpreadMs, 0),
        xactsPerFire: round(xacts / jobs, 2),
        idleRssMbPerReplica: round(idleRss, 0),
        peakRssMbPerReplica: round(peakRss, 0),
        connections: connections[0]!.n,
      });
      process.stdout.write(`${JSON.stringify(rows.at(-1))}\n`);
      await stopAll(children, { graceMs: 15_000 });
      await pool.end();
    }
  }
  console.table(rows);
  await server.stop();
});
