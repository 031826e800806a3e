/**
 * A scratch PostgreSQL for plan experiments: a migrated Belfry schema with N one-off triggers due now
 * (statistics left as stale as a table that filled in seconds), the URL printed, kept until killed.
 *
 *   npx tsx bench/profile-server.ts [--triggers 20000]
 */
import pg from 'pg';
import { intFlag, parseFlags } from './support/args.js';
import { insertOneOffTriggers } from './support/belfry-db.js';
import { runMain } from './support/cleanup.js';
import { startBenchServer } from './support/postgres.js';
import { jobRecordFromOptions } from '../src/jobs/job-record.js';
import { Kysely, PostgresDialect } from 'kysely';
import { upsertJob } from '../src/store/definition-store.js';
import { migrate } from '../src/store/migrator.js';
import type { Database } from '../src/store/tables.js';

const SCHEMA = 'belfry';
await runMain(async () => {
  const flags = parseFlags({ triggers: { type: 'string' } });
  const total = intFlag(flags.triggers, 20_000);
  const server = await startBenchServer({ prefix: 'bench-pg-profile' });
  const url = await server.createDatabase('bench_profile');
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  await migrate(pool, SCHEMA);
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) }).withSchema(SCHEMA);
  await upsertJob({ db, schema: SCHEMA }, jobRecordFromOptions('noop', {}, 'bench'));
  await upsertJob({ db, schema: SCHEMA }, jobRecordFromOptions('other', {}, 'bench'));
  await pool.query(
    `INSERT INTO ${SCHEMA}.instances (id, name, host, pid, version, lock_key) VALUES ('00000000-0000-0000-0000-000000000001', 'p', 'h', 1, 'x', 1)`,
  );
  for (let done = 0; done < total; done += 10_000)
    await insertOneOffTriggers(pool, SCHEMA, {
      group: 'g',
      job: 'noop',
      at: null,
      data: Array.from({ length: Math.min(10_000, total - done) }, () => ({})),
    });
  process.stdout.write(`${url}\n`);
  await new Promise(() => {});
});
