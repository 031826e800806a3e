/**
 * Where PostgreSQL's half of a fire goes, statement by statement (issue #16: "profile and write down
 * where each microsecond goes"): R replicas at their defaults on a fresh database with
 * pg_stat_statements loaded, a warm-up, then one workload of N fires, and for each statement its calls,
 * rows, and execution time per fire; with the replicas' and their backends' CPU per fire from /proc
 * beside it (execution time includes waits for a core, so on a busy machine it exceeds CPU time).
 *
 *   npx tsx bench/profile-statements.ts [--workload drain|herd] [--jobs 20000] [--replicas 3]
 *                                       [--concurrency N] [--batch-size N] [--top 12]
 *
 * drain: N `fireNow` one-offs in one statement (`recordFiresNow`), claimed by the replicas; herd: N
 * one-offs due at one future second, fired by the planner. The enqueue is the orchestrator's and is
 * listed too (its CPU is not in the /proc columns).
 */
import pg from 'pg';
import { intFlag, parseFlags, stringFlag } from './support/args.js';
import { fireNowMany, insertOneOffTriggers, waitFinished } from './support/belfry-db.js';
import { stopAll } from './support/children.js';
import { runMain } from './support/cleanup.js';
import { startBenchServer } from './support/postgres.js';
import { cpuPerFireUs, cpuSnapshot } from './support/proc-cpu.js';
import { round } from './support/stats.js';
import { sleep, wallMs } from './support/time.js';
import { startReplicas } from './systems/belfry.js';
import { openDatabase } from '../src/store/database.js';
import { migrate } from '../src/store/migrator.js';

const SCHEMA = 'belfry';
/** The statement's start, without comments, past the identity guard most statements open with. */
const label = (query: string) =>
  query
    .replace(/--[^\n]*/g, '')
    .replace(/\s+/g, ' ')
    .trim()
    .replace(
      /^WITH alive AS MATERIALIZED \(SELECT id FROM "belfry"\."instances" WHERE [^)]*\), */,
      'WITH alive…, ',
    )
    .slice(0, 130);
const DATABASE = 'profile_statements';

await runMain(async () => {
  const flags = parseFlags({
    workload: { type: 'string' },
    jobs: { type: 'string' },
    replicas: { type: 'string' },
    concurrency: { type: 'string' },
    'batch-size': { type: 'string' },
    top: { type: 'string' },
  });
  const workload = stringFlag(flags.workload) ?? 'drain';
  if (workload !== 'drain' && workload !== 'herd') throw new Error('--workload is drain or herd');
  const jobs = intFlag(flags.jobs, 20_000);
  const top = intFlag(flags.top, 12);
  const server = await startBenchServer({ prefix: 'bench-pg-statements', statements: true });
  const url = await server.createDatabase(DATABASE);
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  await migrate(pool, SCHEMA);
  const database = openDatabase({ connectionString: url, schema: SCHEMA, maxConnections: 2 });
  const ex = { db: database.db, schema: SCHEMA };
  const replicas = startReplicas(
    { logDir: '.tmp/bench-logs' },
    {
      url,
      schema: SCHEMA,
      names: Array.from({ length: intFlag(flags.replicas, 3) }, (_, i) => `statements-${i + 1}`),
      options: {
        concurrency: flags.concurrency === undefined ? undefined : intFlag(flags.concurrency, 200),
        batchSize: flags['batch-size'] === undefined ? undefined : intFlag(flags['batch-size'], 500),
      },
    },
  );
  const waitAll = (group: string, n: number) => waitFinished(pool, SCHEMA, { group, n });
  const payloads = (n: number) => Array.from({ length: n }, () => ({}));
  try {
    await Promise.all(replicas.map((replica) => replica.ready()));
    // A warm-up through both paths, so the replicas' code is compiled and their pools are open.
    await fireNowMany(ex, { group: 'warm', job: 'noop', data: payloads(1_000) });
    await waitAll('warm', 1_000);
    await sleep(1_000);
    const pids = replicas.map((replica) => replica.pid);
    await server.resetStatements();
    const before = await cpuSnapshot(pool, DATABASE, pids);
    const started = wallMs();
    if (workload === 'drain') {
      await fireNowMany(ex, { group: 'run', job: 'noop', data: payloads(jobs) });
    } else {
      const at = Math.ceil((wallMs() + 3_000) / 1_000) * 1_000;
      await insertOneOffTriggers(pool, SCHEMA, {
        group: 'run',
        job: 'noop',
        at: new Date(at),
        data: payloads(jobs),
      });
    }
    await waitAll('run', jobs);
    const wallSeconds = (wallMs() - started) / 1_000;
    const cpu = cpuPerFireUs(before, await cpuSnapshot(pool, DATABASE, pids), jobs);
    // The poll above and the warm-up's leftovers are the orchestrator's own; they are listed but small.
    const statements = await server.statements(DATABASE, top);
    const totalMs = statements.reduce((sum, statement) => sum + statement.totalMs, 0);
    console.log(
      `\n${workload} of ${jobs} fires, ${replicas.length} replicas, ${wallSeconds.toFixed(1)} s; CPU per fire from /proc: ` +
        `replicas ${cpu.node} µs, their PostgreSQL backends ${cpu.postgres} µs\n`,
    );
    console.log('| statement | calls | rows | execution ms | µs per fire | share |');
    console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
    for (const statement of statements)
      console.log(
        `| \`${label(statement.query).replaceAll('|', '\\|')}…\` | ${statement.calls} | ${statement.rows} | ` +
          `${round(statement.totalMs, 0)} | ${round((statement.totalMs * 1_000) / jobs, 1)} | ` +
          `${round((statement.totalMs * 100) / totalMs, 0)} % |`,
      );
  } finally {
    await stopAll(replicas, { graceMs: 5_000 });
    await database.destroy();
    await pool.end();
    await server.stop();
  }
});
