/**
 * `npx tsx bench/ha-scaling.ts [--triggers N,N] [--seconds S] [--replicas R]`: what one PostgreSQL
 * primary costs per fire, for docs/scaling.md. For each offered rate (N one-second interval triggers of
 * a job that returns at once, R replica processes of test/ha/ha-replica.ts, on one embedded PostgreSQL):
 *   - fires/s recorded over the window, and the handler lag (job_history) p50/p99;
 *   - the PostgreSQL CPU used: the postmaster's own and its children's (live ones from /proc, exited
 *     ones through the postmaster's cutime/cstime), in cores, and fires/s per PostgreSQL core;
 *   - WAL bytes and table+index bytes written per fire (the history write volume);
 *   - connections per replica (pool and session, from pg_stat_activity).
 * The replicas share the machine's cores with PostgreSQL (and, on a shared machine, with whatever else
 * runs): fires/s per PostgreSQL core is the figure that carries over to a dedicated server.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import { startEmbeddedPostgres } from '../src/dev/embedded-postgres.js';
import { openDatabase } from '../src/store/database.js';
import { migrate } from '../src/store/migrator.js';
import { insertTrigger, upsertJob } from '../src/store/definition-store.js';
import { jobRecordFromOptions } from '../src/jobs/job-record.js';
import { spawnReplica, stopReplicas } from '../test/support/cluster.js';

const args = process.argv.slice(2);
const flag = (name: string, fallback: string) => {
  const index = args.indexOf(`--${name}`);
  return index >= 0 ? args[index + 1]! : fallback;
};
const RATES = flag('triggers', '500,2000,5000').split(',').map(Number);
const SECONDS = Number(flag('seconds', '20'));
const REPLICAS = Number(flag('replicas', '3'));
const REPLICA = join(process.cwd(), 'test', 'ha', 'ha-replica.ts');
const TICKS = 100; // USER_HZ

function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  // After the ") ": state is field 3, so utime (14) is index 11, stime 12, cutime 13, cstime 14.
  return fields.slice(11, 15).reduce((sum, value) => sum + Number(value), 0) / TICKS;
}

/** The postmaster and every process it started, exited ones included (through its cutime/cstime). */
function postgresCpuSeconds(postmaster: number): number {
  let total = cpuSeconds(postmaster);
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.split(') ')[1]!.split(' ')[1]);
      if (ppid !== postmaster) continue;
      const fields = stat.split(') ')[1]!.split(' ');
      total += (Number(fields[11]) + Number(fields[12])) / TICKS;
    } catch {
      // exited meanwhile: counted in the postmaster's cutime from now on
    }
  }
  return total;
}

const server = await startEmbeddedPostgres({
  dataDir: join(process.cwd(), '.tmp', `ha-scaling-${process.pid}`),
  maxConnections: 300,
  env: process.env,
});
const postmaster = Number(readFileSync(join(server.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
console.log(`PostgreSQL: embedded, pid ${postmaster}; ${REPLICAS} replicas; ${SECONDS} s per rate`);
try {
  for (const rate of RATES) {
    const schema = `scaling_${rate}`;
    const database = openDatabase({ connectionString: server.url, schema, maxConnections: 3 });
    await migrate(database.pool, schema);
    const ex = { db: database.db, schema };
    await upsertJob(ex, jobRecordFromOptions('tick', {}, 'test'));
    const {
      rows: [clock],
    } = await sql<{ now: Date }>`SELECT now() AS now`.execute(database.db);
    const start = new Date(Math.ceil(clock!.now.getTime() / 1000) * 1000 + 15_000);
    for (let i = 0; i < rate; i += 1) {
      await insertTrigger(ex, {
        trigger: {
          name: `t-${i}`,
          job: 'tick',
          group: 'default',
          kind: 'interval',
          spec: { kind: 'interval', everyMs: 1000 },
          calendarName: null,
          data: { maxMs: 0 },
          priority: 0,
          startAt: null,
          endAt: null,
          maxFires: null,
          misfirePolicy: 'fire-once-now',
          misfireThresholdMs: 600_000,
          source: 'test',
        },
        nextFireAt: start,
        paused: false,
      });
    }
    const replicas = Array.from({ length: REPLICAS }, (_, i) =>
      spawnReplica({
        name: `scaling-${i + 1}`,
        databaseUrl: server.url,
        schema,
        command: [process.execPath, '--import', 'tsx', REPLICA],
      }),
    );
    await Promise.all(replicas.map((r) => r.waitFor('started', () => true, 60_000)));
    while (Date.now() < start.getTime() + 5_000) await sleep(100);
    const sample = async () => {
      const {
        rows: [row],
      } = await sql<{ lsn: string; bytes: string; fires: number }>`
        SELECT pg_current_wal_lsn()::text AS lsn,
               (pg_total_relation_size(${`${schema}.fires`}) + pg_total_relation_size(${`${schema}.executions`})
                + pg_total_relation_size(${`${schema}.triggers`}))::text AS bytes,
               (SELECT count(*)::int FROM ${sql.table(`${schema}.fires`)}) AS fires`.execute(database.db);
      return { ...row!, cpu: postgresCpuSeconds(postmaster), at: Date.now() };
    };
    const first = await sample();
    const { rows: conns } = await sql<{ name: string; n: number }>`
      SELECT application_name AS name, count(*)::int AS n FROM pg_stat_activity
       WHERE application_name LIKE 'belfry%scaling-%' GROUP BY 1 ORDER BY 1`.execute(database.db);
    await sleep(SECONDS * 1000);
    const last = await sample();
    const {
      rows: [lag],
    } = await sql<{ p50: number; p99: number }>`
      SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY lag_ms) AS p50,
             percentile_cont(0.99) WITHIN GROUP (ORDER BY lag_ms) AS p99
        FROM (SELECT extract(epoch FROM (started_at - scheduled_at)) * 1000 AS lag_ms
                FROM ${sql.table(`${schema}.job_history`)}
               WHERE scheduled_at >= ${new Date(first.at)} AND scheduled_at < ${new Date(last.at)}
                 AND started_at IS NOT NULL) l`.execute(database.db);
    const {
      rows: [wal],
    } = await sql<{
      bytes: string;
    }>`SELECT pg_wal_lsn_diff(${last.lsn}, ${first.lsn})::text AS bytes`.execute(database.db);
    await stopReplicas(replicas);
    const seconds = (last.at - first.at) / 1000;
    const fires = last.fires - first.fires;
    const firesPerS = fires / seconds;
    const cores = (last.cpu - first.cpu) / seconds;
    const walPerFire = Number(wal!.bytes) / fires;
    const tablePerFire = (Number(last.bytes) - Number(first.bytes)) / fires;
    const perReplica = conns.map((c) => `${c.name} ${c.n}`).join(', ');
    console.log(
      `offered ${rate}/s: ${firesPerS.toFixed(0)} fires/s; PostgreSQL ${cores.toFixed(2)} cores → ${(firesPerS / cores).toFixed(0)} fires/s per core; lag p50 ${Number(lag!.p50).toFixed(0)} ms p99 ${Number(lag!.p99).toFixed(0)} ms; WAL ${walPerFire.toFixed(0)} B/fire (${(Number(wal!.bytes) / seconds / 1e6).toFixed(1)} MB/s); tables+indexes ${tablePerFire.toFixed(0)} B/fire; connections: ${perReplica}`,
    );
    await sql`DROP SCHEMA ${sql.id(schema)} CASCADE`.execute(database.db);
    await database.destroy();
  }
} finally {
  await server.stop();
}
