/**
 * Does the number of triggers defined change what a fire costs? (issue #16: 1,000,000 triggers defined,
 * acquisition cost and lag the same as with 1,000, at most 150 MB RSS per replica.) For each size, a
 * fresh database holds N interval triggers due over the next days (none due during the run) and 3
 * replicas at their defaults; then, in that database, a herd of one-offs due at one second, a paced
 * stream of `fireNow`-like one-offs, and the replicas' RSS idle and at the herd's peak. The acquisition
 * statement itself is timed by `bench/profile-acquire.ts` and `bench/profile-server.ts`.
 *
 *   npx tsx bench/million-triggers.ts [--sizes 1000,1000000] [--herd 2000] [--stream 100]
 *                                     [--pg-log-min-duration-ms 50]
 */
import pg from 'pg';
import { intFlag, parseFlags, stringFlag } from './support/args.js';
import {
  fireNowMany,
  historyLag,
  insertBenchTriggers,
  insertOneOffTriggers,
  waitFinished,
} from './support/belfry-db.js';
import { rssMb } from './support/proc-cpu.js';
import { stopAll } from './support/children.js';
import { runMain } from './support/cleanup.js';
import { startBenchServer } from './support/postgres.js';
import { round } from './support/stats.js';
import { monoMs, sleep, wallMs } from './support/time.js';
import { startReplicas } from './systems/belfry.js';
import { jobRecordFromOptions } from '../src/jobs/job-record.js';
import { migrate } from '../src/store/migrator.js';
import { Kysely, PostgresDialect } from 'kysely';
import { upsertJob } from '../src/store/definition-store.js';
import type { Database } from '../src/store/tables.js';

const SCHEMA = 'belfry';

await runMain(async () => {
  const flags = parseFlags({
    sizes: { type: 'string' },
    herd: { type: 'string' },
    stream: { type: 'string' },
    'pg-log-min-duration-ms': { type: 'string' },
  });
  const pgLogMs = stringFlag(flags['pg-log-min-duration-ms']);
  const sizes = (stringFlag(flags.sizes) ?? '1000,1000000').split(',').map(Number);
  const herd = intFlag(flags.herd, 2_000);
  const stream = intFlag(flags.stream, 100);
  const server = await startBenchServer({
    prefix: 'bench-pg-million',
    // Statements slower than this go to the log: what, if anything, grows with the triggers defined.
    logFile: '.tmp/bench-logs/million-postgres.log',
    logMinDurationMs: pgLogMs === undefined ? undefined : intFlag(pgLogMs, 0),
  });
  const rows: Record<string, unknown>[] = [];
  for (const size of sizes) {
    const database = `million_${size}`;
    const url = await server.createDatabase(database);
    const pool = new pg.Pool({ connectionString: url, max: 2 });
    await migrate(pool, SCHEMA);
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) }).withSchema(SCHEMA);
    await upsertJob({ db, schema: SCHEMA }, jobRecordFromOptions('noop', {}, 'bench'));
    const defineStarted = monoMs();
    // Interval triggers every 1 to 7 days, first due a day from now and spread over the next day.
    const firstAt = wallMs() + 86_400_000;
    for (let done = 0; done < size; done += 100_000) {
      const count = Math.min(100_000, size - done);
      await insertBenchTriggers(pool, SCHEMA, {
        group: 'defined',
        job: 'noop',
        triggers: Array.from({ length: count }, (_, i) => ({
          name: `defined-${done + i}`,
          kind: 'interval' as const,
          everyMs: 86_400_000 * (1 + ((done + i) % 7)),
          anchorMs: firstAt + ((done + i) % 86_400_000),
          firstAt: firstAt + ((done + i) % 86_400_000),
        })),
      });
    }
    // Vacuumed and analyzed now, so autovacuum does not compete with the measurement (steady state).
    await pool.query(`VACUUM (ANALYZE) ${SCHEMA}.triggers`);
    const defineSeconds = (monoMs() - defineStarted) / 1_000;
    const names = [1, 2, 3].map((i) => `million-${size}-${i}`);
    const children = startReplicas(
      { logDir: '.tmp/bench-logs' },
      { url, schema: SCHEMA, names, options: {} },
    );
    await Promise.all(children.map((child) => child.ready()));
    await sleep(3_000);
    const idleRss = Math.max(...children.map((child) => rssMb(child.pid)));
    let peakRss = 0;
    const sampler = setInterval(() => {
      for (const child of children) peakRss = Math.max(peakRss, rssMb(child.pid));
    }, 200);
    const waitAll = (group: string, n: number) => waitFinished(pool, SCHEMA, { group, n, timeoutMs: 60_000 });

    // A stream of one-offs due now, one at a time through fireNow's own write, 20 a second.
    for (let i = 0; i < stream; i++) {
      await fireNowMany({ db, schema: SCHEMA }, { group: 'stream', job: 'noop', data: [{}] });
      await sleep(50);
    }
    await waitAll('stream', stream);
    const streamLag = await historyLag(pool, SCHEMA, 'stream');

    // A herd due at one second.
    const at = Math.ceil((wallMs() + 2_000) / 1_000) * 1_000;
    await insertOneOffTriggers(pool, SCHEMA, {
      group: 'herd',
      job: 'noop',
      at: new Date(at),
      data: Array.from({ length: herd }, () => ({})),
    });
    await waitAll('herd', herd);
    const herdLag = await historyLag(pool, SCHEMA, 'herd');
    clearInterval(sampler);
    const { rows: firedDefined } = await pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM ${SCHEMA}.fires WHERE trigger_group = 'defined'`,
    );
    rows.push({
      triggersDefined: size,
      defineSeconds: round(defineSeconds, 1),
      streamLagP50Ms: round(streamLag.lag.p50, 1),
      streamLagP99Ms: round(streamLag.lag.p99, 1),
      herd,
      herdLastStartMs: herdLag.lastStartMs === null ? null : round(herdLag.lastStartMs - at, 0),
      herdLagP50Ms: round(herdLag.lag.p50, 0),
      idleRssMbPerReplica: round(idleRss, 0),
      peakRssMbPerReplica: round(peakRss, 0),
      definedFiredDuringRun: firedDefined[0]!.n,
    });
    process.stdout.write(`${JSON.stringify(rows.at(-1))}\n`);
    await stopAll(children, { graceMs: 15_000 });
    await pool.end();
  }
  console.table(rows);
  await server.stop();
});
