/**
 * `npm run bench:services` (issue 12): long-running services with the default timings, on an embedded
 * PostgreSQL, with real replica processes (test/support/service-replica.ts).
 *   1. SIGKILL of the holder → run() started on another replica (target ≤ 3 s), median of TRIALS;
 *   2. graceful stop (SIGTERM) of the holder → run() started on another replica (target ≤ 500 ms);
 *   3. 1,000 shards over 3 replicas: time to hold them all, balance (max − min per replica), and the
 *      database load per beat: transactions per second with 1,000 shards against the same cluster with 3
 *      (one claim statement renews all of a replica's shards, so the two should be alike).
 * Times come from the replicas' own event lines, stamped with CLOCK_MONOTONIC (shared by the processes).
 * Environment: BENCH_TRIALS (default 10), BENCH_SHARDS (default 1000).
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import { startEmbeddedPostgres } from '../src/dev/embedded-postgres.js';
import { DEFAULT_TIMINGS } from '../src/scheduler.js';
import { openDatabase, type BelfryDatabase } from '../src/store/database.js';
import { migrate } from '../src/store/migrator.js';
import { spawnReplica, stopReplicas, type ReplicaHandle } from '../test/support/cluster.js';

const TRIALS = Number(process.env.BENCH_TRIALS ?? 10);
const SHARDS = Number(process.env.BENCH_SHARDS ?? 1000);
const REPLICA = fileURLToPath(new URL('../test/support/service-replica.ts', import.meta.url));
const mono = () => Number(process.hrtime.bigint() / 1000n) / 1000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};
const log = (message: string) => console.log(`[bench:services] ${message}`);

const dataDir = join(process.cwd(), '.tmp', `bench-services-${randomBytes(4).toString('hex')}`);
// pg_stat_statements counts statements per kind: preloaded, so the server starts twice.
let server = await startEmbeddedPostgres({
  dataDir,
  persistent: true,
  maxConnections: 200,
  env: process.env,
});
{
  const admin = openDatabase({ connectionString: server.url, schema: 'public', maxConnections: 1 });
  await sql`ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'`.execute(admin.db);
  await admin.destroy();
  const port = server.port;
  await server.stop();
  server = await startEmbeddedPostgres({
    dataDir,
    port,
    persistent: true,
    maxConnections: 200,
    env: process.env,
  });
  const again = openDatabase({ connectionString: server.url, schema: 'public', maxConnections: 1 });
  await sql`CREATE EXTENSION IF NOT EXISTS pg_stat_statements`.execute(again.db);
  await again.destroy();
}
let replicas: ReplicaHandle[] = [];

function start(schema: string, name: string, services: { name: string; shards: number }[]): ReplicaHandle {
  return spawnReplica({
    name,
    databaseUrl: server.url,
    schema,
    command: [process.execPath, '--import', 'tsx', REPLICA],
    env: { SERVICES: JSON.stringify(services.map((s) => ({ ...s, kind: 'idle' }))) },
  });
}

async function schemaOf(name: string): Promise<BelfryDatabase> {
  const database = openDatabase({ connectionString: server.url, schema: name, maxConnections: 2 });
  await migrate(database.pool, name);
  return database;
}

/** The replica whose last service event for `service` is a start (it runs it now). */
function holderOf(service: string): ReplicaHandle | undefined {
  return replicas.find((r) => {
    const last = r.events.filter((e) => e.service === service && e.event.startsWith('service:')).at(-1);
    return last?.event === 'service:started';
  });
}

/** The first start of `service` on a replica other than `except` after `since`. */
async function startedElsewhere(service: string, except: ReplicaHandle, since: number): Promise<number> {
  const deadline = mono() + 60_000;
  while (mono() < deadline) {
    for (const r of replicas) {
      if (r === except) continue;
      const e = r.events.find(
        (x) => x.event === 'service:started' && x.service === service && Number(x.t) > since,
      );
      if (e) return Number(e.t);
    }
    await sleep(5);
  }
  throw new Error(`${service} did not start elsewhere within 60 s`);
}

async function handovers(kind: 'SIGKILL' | 'SIGTERM'): Promise<number[]> {
  const database = await schemaOf(`bench_${kind.toLowerCase()}`);
  const services = [{ name: 'solo', shards: 1 }];
  replicas = ['r1', 'r2', 'r3'].map((n) => start(database.schema, n, services));
  await Promise.all(replicas.map((r) => r.waitFor('started', () => true, 120_000)));
  const times: number[] = [];
  for (let trial = 0; trial < TRIALS; trial += 1) {
    // Settle: a holder runs, every replica has checked in a few times since the last restart.
    await sleep(
      2 * DEFAULT_TIMINGS.heartbeatIntervalMs + Math.random() * DEFAULT_TIMINGS.heartbeatIntervalMs,
    );
    let victim = holderOf('solo');
    while (!victim) {
      await sleep(50);
      victim = holderOf('solo');
    }
    const t0 = mono();
    victim.child.kill(kind);
    const at = await startedElsewhere('solo', victim, t0);
    times.push(at - t0);
    log(`${kind} trial ${trial + 1}: run() started elsewhere after ${Math.round(at - t0)} ms`);
    await victim.exited;
    const replacement = start(database.schema, victim.name, services);
    replicas = replicas.filter((r) => r !== victim).concat(replacement);
    await replacement.waitFor('started', () => true, 120_000);
  }
  await stopReplicas(replicas);
  replicas = [];
  await database.destroy();
  return times;
}

async function wide(
  shards: number,
): Promise<{ holdAllMs: number; balancedMs: number; counts: number[]; xactPerSecond: number }> {
  const database = await schemaOf(`bench_wide_${shards}`);
  const services = [{ name: 'wide', shards }];
  // Timed from the spawn: the replicas start one after the other, so the first takes more than its
  // share and gives the excess back as the others join.
  const t0 = mono();
  replicas = ['w1', 'w2', 'w3'].map((n) => start(database.schema, n, services));
  await Promise.all(replicas.map((r) => r.waitFor('started', () => true, 120_000)));
  let counts: number[] = [];
  let holdAllMs = Number.NaN;
  const byHolder = async () => {
    const { rows } = await sql<{ n: number }>`
      SELECT count(*)::int AS n FROM ${sql.table(`${database.schema}.service_leases`)}
       WHERE expires_at > now() AND holder IS NOT NULL GROUP BY holder ORDER BY 1`.execute(database.db);
    return rows.map((r) => r.n);
  };
  let lastReport = 0;
  while (mono() - t0 < 120_000) {
    counts = await byHolder();
    if (process.env.BENCH_VERBOSE && mono() - lastReport > 2_000) {
      lastReport = mono();
      log(`  ${Math.round(mono() - t0)} ms: ${counts.join('/')}`);
    }
    const total = counts.reduce((a, b) => a + b, 0);
    if (total === shards && Number.isNaN(holdAllMs)) holdAllMs = mono() - t0;
    if (total === shards && counts.length === 3 && counts.at(-1)! - counts[0]! <= 1) break;
    await sleep(200);
  }
  const balancedMs = mono() - t0;
  log(
    `${shards} shards: all held after ${Math.round(holdAllMs)} ms, balanced (${counts.join('/')}) after ${Math.round(balancedMs)} ms`,
  );
  // Database load at rest, over 20 s: statements by kind (pg_stat_statements), across the cluster.
  const runs = async () => {
    const { rows } = await sql<{ n: number }>`
      SELECT count(*)::int AS n FROM ${sql.table(`${database.schema}.service_runs`)}`.execute(database.db);
    return rows[0]!.n;
  };
  const runsBefore = await runs();
  await sql`SELECT pg_stat_statements_reset()`.execute(database.db);
  const from = mono();
  await sleep(20_000);
  const seconds = (mono() - from) / 1000;
  const { rows: statements } = await sql<{ calls: string; query: string; rows: string; ms: number }>`
    SELECT calls, rows, mean_exec_time AS ms, left(regexp_replace(query, '[[:space:]]+', ' ', 'g'), 60) AS query
      FROM pg_stat_statements
     WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
       AND query NOT ILIKE '%pg_stat_statements%'
     ORDER BY calls DESC`.execute(database.db);
  const total = statements.reduce((sum, r) => sum + Number(r.calls), 0);
  const claim = statements.find((r) => r.query.includes('AS MATERIALIZED'));
  const statementsPerSecond = total / seconds;
  const claimsPerBeat = (Number(claim?.calls ?? 0) / seconds) * (DEFAULT_TIMINGS.heartbeatIntervalMs / 1000);
  log(
    `${shards} shards at rest: ${(await runs()) - runsBefore} runs started; ${statementsPerSecond.toFixed(1)} statements/s; ` +
      `the claim statement: ${claimsPerBeat.toFixed(2)} per beat across 3 replicas, ${Number(claim?.rows ?? 0) / Math.max(1, Number(claim?.calls ?? 1))} rows each, mean ${Number(claim?.ms ?? 0).toFixed(1)} ms`,
  );
  if (process.env.BENCH_VERBOSE) for (const r of statements.slice(0, 10)) log(`  ${r.calls} × ${r.query}`);
  const xactPerSecond = statementsPerSecond;
  counts = await byHolder();
  await stopReplicas(replicas);
  replicas = [];
  await database.destroy();
  return { holdAllMs, balancedMs, counts, xactPerSecond };
}

const PARTS = (process.env.BENCH_PARTS ?? 'kill,graceful,wide').split(',');
try {
  const killed = PARTS.includes('kill') ? await handovers('SIGKILL') : [Number.NaN];
  const graceful = PARTS.includes('graceful') ? await handovers('SIGTERM') : [Number.NaN];
  const many = await wide(SHARDS);
  const few = await wide(3);
  const ms = (v: number) => `${Math.round(v)} ms`;
  console.log('\nBelfry services benchmark (default timings: heartbeat 2 s, lease 6 s, session grace 2 s)');
  console.log(
    `SIGKILL of the holder → run() elsewhere: median ${ms(median(killed))} (min ${ms(Math.min(...killed))}, max ${ms(Math.max(...killed))}, n=${killed.length}; target ≤ 3 s)`,
  );
  console.log(
    `graceful stop → run() elsewhere: median ${ms(median(graceful))} (min ${ms(Math.min(...graceful))}, max ${ms(Math.max(...graceful))}, n=${graceful.length}; target ≤ 500 ms)`,
  );
  console.log(
    `${SHARDS} shards over 3 replicas (spawned together): all held ${ms(many.holdAllMs)} after the spawn, balanced after ${ms(many.balancedMs)}; per replica ${many.counts.join('/')} (spread ${many.counts.at(-1)! - many.counts[0]!})`,
  );
  console.log(
    `database load at rest: ${many.xactPerSecond.toFixed(1)} statements/s with ${SHARDS} shards, ${few.xactPerSecond.toFixed(1)} with 3 shards (the same 3 replicas)`,
  );
} finally {
  await stopReplicas(replicas, 'SIGKILL');
  await server.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
