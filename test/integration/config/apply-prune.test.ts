/**
 * `belfry apply --prune` shows everything it deletes and refuses what others still need; `--dry-run`
 * reads only (no migration, no schema); bad input is one line with its place.
 */
import { sql } from 'kysely';
import { Command, CommanderError } from 'commander';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { registerApplyCommand } from '../../../src/cli/apply-command.js';
import { applyDefinitions } from '../../../src/config/definition-reconciler.js';
import { loadDefinitions } from '../../../src/config/definition-loader.js';
import { formatDefinitionError } from '../../../src/config/definition-error.js';
import { PruneRefusedError } from '../../../src/config/prune-impact.js';
import { openDatabase, type BelfryDatabase } from '../../../src/store/database.js';
import { deleteJob, insertOneOffTrigger } from '../../../src/store/definition-store.js';
import type { Executor } from '../../../src/store/executor.js';
import { loadMigrations, migrate } from '../../../src/store/migrator.js';
import { lockJobsForDelete } from '../../../src/store/prune-store.js';
import { createTestDatabase, dropTestDatabase, testDatabaseUrl, uniqueSchema } from '../../support/schema.js';
import { definitionDir, yaml, type DefinitionDir } from '../../unit/config/definition-files.js';

let database: BelfryDatabase;
let ex: Executor;
let files: DefinitionDir;

beforeEach(async () => {
  database = await createTestDatabase();
  ex = { db: database.db, schema: database.schema };
  files = definitionDir();
  files.write('jobs/report.ts', 'export default class Report { async execute() {} }\n');
});
afterEach(async () => {
  files.remove();
  await dropTestDatabase(database);
});

const BASE = yaml`
  calendars:
    office:
      type: holiday
      dates: [2030-12-24]
  jobs:
    report:
      module: ./jobs/report.ts
    ping:
      type: http
      url: https://example.com/health
  triggers:
    report-nightly:
      job: report
      cron: "0 2 * * *"
      calendar: office
    ping-often:
      job: ping
      every: 30s
`;
/** BASE without the ping job, its trigger and the office calendar (and the trigger that used it). */
const SMALLER = yaml`
  jobs:
    report:
      module: ./jobs/report.ts
`;

async function applyFile(text: string): Promise<void> {
  const result = await loadDefinitions([files.write('belfry.yaml', text)]);
  if (!result.ok) throw new Error(result.errors.map(formatDefinitionError).join('\n'));
  await applyDefinitions(ex, result.definitions);
}

interface CliResult {
  out: string;
  err: string;
  exitCode: number;
}

/** `belfry apply …` in-process, as a user runs it: stdout, stderr and the exit code. */
async function belfry(args: string[], schema = database.schema): Promise<CliResult> {
  let out = '';
  let err = '';
  const program = new Command()
    .exitOverride()
    .configureOutput({ writeErr: (text) => (err += text), writeOut: (text) => (out += text) });
  registerApplyCommand(program, { write: (text) => (out += text) });
  try {
    await program.parseAsync([
      'node',
      'belfry',
      'apply',
      ...args,
      '--database-url',
      testDatabaseUrl(),
      '--schema',
      schema,
    ]);
    return { out, err, exitCode: 0 };
  } catch (error) {
    // A CommanderError is a reported failure; anything else escaped as an exception (a stack trace).
    if (!(error instanceof CommanderError)) throw error;
    return { out, err, exitCode: error.exitCode };
  }
}

/**
 * Every relation of the schema, and a digest of every table's rows: equal fingerprints mean the
 * database was not written (schema_migrations included).
 */
async function fingerprint(schema = database.schema): Promise<Record<string, string>> {
  const { rows: relations } = await sql<{ name: string; kind: string }>`
    SELECT c.relname AS name, c.relkind AS kind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = ${schema} ORDER BY c.relname`.execute(database.db);
  const print: Record<string, string> = {};
  for (const { name, kind } of relations) {
    if (kind !== 'r') {
      print[name] = kind;
      continue;
    }
    const { rows } = await sql<{ count: string; digest: string | null }>`
      SELECT count(*) AS count, md5(string_agg(t::text, '|' ORDER BY t::text)) AS digest
        FROM ${sql.table(`${schema}.${name}`)} t`.execute(database.db);
    print[name] = `${rows[0]!.count} ${rows[0]!.digest ?? '-'}`;
  }
  return print;
}

async function triggerNames(): Promise<string[]> {
  const { rows } = await sql<{
    name: string;
  }>`SELECT name FROM ${sql.table(`${database.schema}.triggers`)} ORDER BY name`.execute(database.db);
  return rows.map((row) => row.name);
}

describe('apply --prune', () => {
  it('refuses to delete a job that an API one-off still uses, and with --force lists and deletes it', async () => {
    await applyFile(BASE);
    await insertOneOffTrigger(ex, {
      name: 'ping-by-hand',
      job: 'ping',
      group: 'one-off',
      at: new Date('2099-01-01T00:00:00Z'),
      data: null,
    });
    // A fire already recorded for it, with a retry pending: history must outlive the prune.
    await sql`
      WITH fire AS (
        INSERT INTO ${sql.table(`${database.schema}.fires`)} (trigger_id, trigger_name, trigger_group, job_name, scheduled_at)
        SELECT id, name, group_name, job_name, '2029-01-01T00:00:00Z' FROM ${sql.table(`${database.schema}.triggers`)}
         WHERE name = 'ping-by-hand' RETURNING id)
      INSERT INTO ${sql.table(`${database.schema}.executions`)} (fire_id, attempt, job_name, status)
      SELECT id, 2, 'ping', 'pending' FROM fire`.execute(database.db);
    const file = files.write('smaller.yaml', SMALLER);
    const before = await fingerprint();

    const refused = await belfry([file, '--prune']);
    expect(refused.exitCode).toBe(1);
    expect(refused.err).toBe(
      'apply refused, nothing was changed: cannot prune job ping: trigger not from YAML still uses it: ping-by-hand (api, waiting); delete it first, or pass --force to delete it with the job\n',
    );
    // The plan still shows everything the prune would delete.
    expect(refused.out).toContain('- trigger ping-by-hand (api, waiting; deleted with job ping)');
    expect(await fingerprint()).toEqual(before);

    // A dry run says the same, and also exits non-zero.
    const dry = await belfry([file, '--prune', '--dry-run']);
    expect(dry.exitCode).toBe(1);
    expect(dry.err).toMatch(/^apply would be refused: cannot prune job ping: .*ping-by-hand/);
    expect(await fingerprint()).toEqual(before);

    const forced = await belfry([file, '--prune', '--force']);
    expect(forced).toMatchObject({ exitCode: 0, err: '' });
    expect(forced.out).toBe(
      [
        '- calendar office (pruned)',
        '- job ping (pruned; 1 pending or running execution is kept in the history without its job)',
        '- trigger ping-by-hand (api, waiting; deleted with job ping)',
        '- trigger ping-often (yaml, waiting; pruned)',
        '- trigger report-nightly (yaml, waiting; pruned)',
        '= 1 unchanged',
        'Applied: 0 to add, 0 to change, 5 to remove, 0 leftover, 1 unchanged',
        '',
      ].join('\n'),
    );
    expect(await triggerNames()).toEqual([]);
    const { rows: history } = await sql<{ trigger_id: string | null; status: string }>`
      SELECT f.trigger_id, e.status FROM ${sql.table(`${database.schema}.fires`)} f
        JOIN ${sql.table(`${database.schema}.executions`)} e ON e.fire_id = f.id`.execute(database.db);
    expect(history).toEqual([{ trigger_id: null, status: 'pending' }]);
  });

  it('refuses applyDefinitions with PruneRefusedError carrying the plan (what belfry start would see)', async () => {
    await applyFile(BASE);
    await sql`
      INSERT INTO ${sql.table(`${database.schema}.triggers`)} (name, job_name, kind, spec, source, state)
      VALUES ('coded', 'ping', 'interval', '{"kind":"interval","everyMs":1000}', 'code', 'paused')`.execute(
      database.db,
    );
    const smaller = await loadDefinitions([files.write('smaller.yaml', SMALLER)]);
    if (!smaller.ok) throw new Error('invalid');
    const before = await fingerprint();
    const error = await applyDefinitions(ex, smaller.definitions, { prune: true }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PruneRefusedError);
    expect((error as PruneRefusedError).message).toContain('coded (code, paused)');
    expect(await fingerprint()).toEqual(before);
  });

  it('never prunes a calendar that a trigger outside the files uses, with or without --force', async () => {
    await applyFile(BASE);
    await sql`
      INSERT INTO ${sql.table(`${database.schema}.triggers`)} (name, job_name, kind, spec, calendar_name, source)
      VALUES ('coded-on-office', 'report', 'cron',
              '{"kind":"cron","expression":"0 9 * * *","timezone":"UTC","calendar":"office"}', 'office', 'code')`.execute(
      database.db,
    );
    // Keeps ping, so only the calendar is at stake.
    const file = files.write(
      'no-calendar.yaml',
      BASE.replace(/calendars:[\s\S]*?jobs:/, 'jobs:').replace(/ {2}report-nightly:[\s\S]*?office\n/, ''),
    );
    const before = await fingerprint();
    for (const extra of [[], ['--force']]) {
      const result = await belfry([file, '--prune', ...extra]);
      expect(result.exitCode).toBe(1);
      expect(result.err).toBe(
        'apply refused, nothing was changed: cannot prune calendar office: still used by trigger coded-on-office (code); a calendar in use is never deleted, not even with --force\n',
      );
      expect(await fingerprint()).toEqual(before);
    }
  });

  it('holds a pruned job so that a one-off created meanwhile waits and fails instead of vanishing', async () => {
    await applyFile(BASE);
    const trx = await database.db.startTransaction().execute();
    try {
      const tx = { db: trx, schema: database.schema };
      await lockJobsForDelete(tx, { names: ['ping'] });
      const inserting = insertOneOffTrigger(ex, {
        name: 'late',
        job: 'ping',
        group: 'one-off',
        at: null,
        data: null,
      });
      const outcome = inserting.then(
        () => 'inserted',
        (error: { code?: string }) => error.code,
      );
      // The insert's foreign-key check waits on the lock (observed in pg_stat_activity, not by sleeping).
      let settled = false;
      void outcome.finally(() => (settled = true));
      for (let waiting = false; !waiting && !settled;) {
        const { rows } = await sql<{ count: string }>`
          SELECT count(*) AS count FROM pg_stat_activity
           WHERE wait_event_type = 'Lock' AND query LIKE '%jsonb_build_object%'`.execute(database.db);
        waiting = rows[0]!.count !== '0';
      }
      await deleteJob(tx, { name: 'ping' });
      await trx.commit().execute();
      expect(await outcome).toBe('23503');
    } catch (error) {
      await trx
        .rollback()
        .execute()
        .catch(() => {});
      throw error;
    }
    expect(await triggerNames()).toEqual(['report-nightly']);
  });

  it('documents --force in belfry apply --help, and wants --prune with it', async () => {
    const program = new Command();
    registerApplyCommand(program);
    const help = program.commands
      .find((command) => command.name() === 'apply')!
      .helpInformation()
      .replace(/\s+/g, ' ');
    expect(help).toContain('--force with --prune: also delete the API and code triggers of a pruned job');
    expect(help).toContain('--dry-run show the plan and change nothing (reads only: does not even migrate)');
    await applyFile(BASE);
    const result = await belfry([files.write('same.yaml', BASE), '--force']);
    expect(result).toMatchObject({
      exitCode: 1,
      err: '--force only changes what --prune may delete; add --prune\n',
    });
  });
});

describe('apply --dry-run', () => {
  it('writes nothing to a schema that is behind, not even the migrations, and says so', async () => {
    const all = loadMigrations();
    const older = createTestDatabaseHandle();
    try {
      await migrate(older.pool, older.schema, { migrations: all.slice(0, -1) });
      await sql`
        INSERT INTO ${sql.table(`${older.schema}.calendars`)} (name, spec, source)
        VALUES ('office', '{"kind":"holiday","dates":["2030-01-01","2030-12-24"]}', 'yaml')`.execute(
        older.db,
      );
      const before = await fingerprint(older.schema);
      const result = await belfry([files.write('belfry.yaml', BASE), '--dry-run', '--prune'], older.schema);
      expect(result.err).toBe('');
      const lines = result.out.split('\n');
      expect(lines[0]).toBe(
        `Schema "${older.schema}" is behind this version of Belfry: apply (or belfry migrate) would first run 1 migration (${all.at(-1)!.name})`,
      );
      // The plan is still read from the tables that exist.
      expect(lines).toContain('~ calendar office: spec holiday, 2 dates → holiday, 1 date');
      expect(lines.at(-2)).toBe(
        'Dry run, nothing changed: 4 to add, 1 to change, 0 to remove, 0 leftover, 0 unchanged',
      );
      expect(await fingerprint(older.schema)).toEqual(before);
    } finally {
      await dropTestDatabase(older);
    }
  });

  it('says so when a refused apply had already migrated the schema', async () => {
    const all = loadMigrations();
    const older = createTestDatabaseHandle();
    try {
      await migrate(older.pool, older.schema, { migrations: all.slice(0, -1) });
      await sql`
        INSERT INTO ${sql.table(`${older.schema}.jobs`)} (name, data, source)
        VALUES ('ping', '{"$builtin":{"type":"http","url":"https://example.com/health","method":"GET"}}', 'yaml')`.execute(
        older.db,
      );
      await sql`
        INSERT INTO ${sql.table(`${older.schema}.triggers`)} (name, job_name, kind, spec, source)
        VALUES ('ping-by-hand', 'ping', 'once', '{"kind":"once","at":"2099-01-01T00:00:00.000Z"}', 'api')`.execute(
        older.db,
      );
      const result = await belfry([files.write('smaller.yaml', SMALLER), '--prune'], older.schema);
      expect(result.exitCode).toBe(1);
      expect(result.err).toBe(
        `apply refused, the schema was migrated (${all.at(-1)!.name}) but no definition was changed: cannot prune job ping: trigger not from YAML still uses it: ping-by-hand (api, waiting); delete it first, or pass --force to delete it with the job\n`,
      );
      const { rows } = await sql<{ name: string }>`
        SELECT name FROM ${sql.table(`${older.schema}.jobs`)}
        UNION ALL SELECT name FROM ${sql.table(`${older.schema}.triggers`)}`.execute(older.db);
      expect(rows.map((row) => row.name)).toEqual(['ping', 'ping-by-hand']);
    } finally {
      await dropTestDatabase(older);
    }
  });

  it('creates no schema on an empty database, and shows that everything would be added', async () => {
    const schema = uniqueSchema('absent');
    const result = await belfry([files.write('belfry.yaml', BASE), '--dry-run'], schema);
    expect(result.err).toBe('');
    expect(result.out.split('\n')[0]).toBe(
      `Schema "${schema}" does not exist yet: apply would create it and add everything below`,
    );
    expect(result.out).toContain('Dry run, nothing changed: 5 to add, 0 to change');
    const { rows } = await sql<{ count: string }>`
      SELECT count(*) AS count FROM pg_namespace WHERE nspname = ${schema}`.execute(database.db);
    expect(rows[0]!.count).toBe('0');

    const json = await belfry([files.write('belfry.yaml', BASE), '--dry-run', '--json'], schema);
    expect(JSON.parse(json.out)).toMatchObject({
      dryRun: true,
      applied: false,
      counts: { add: 5 },
      notes: [expect.stringContaining('does not exist yet')],
    });
  });
});

describe('apply with bad input', () => {
  it('reports an interval no date can reach at its line, not as a database error', async () => {
    const file = files.write(
      'huge.yaml',
      yaml`
        jobs:
          report: { module: ./jobs/report.ts }
        triggers:
          rarely: { job: report, every: 99999999999999999999d }
      `,
    );
    const before = await fingerprint();
    const result = await belfry([file]);
    expect(result.exitCode).toBe(1);
    expect(result.err).toBe(
      `${file}:4:33: triggers.rarely.every: interval of 8.64e+27ms is longer than any date can reach\n1 error; nothing was applied\n`,
    );
    expect(await fingerprint()).toEqual(before);
  });

  it('reports a bad one-off time as one line with file, line and reason, not an exception', async () => {
    const file = files.write(
      'bad.yaml',
      yaml`
        jobs:
          report: { module: ./jobs/report.ts }
        triggers:
          once:
            job: report
            at: "2030-01-01T09:00:00"
      `,
    );
    const result = await belfry([file]);
    expect(result.exitCode).toBe(1);
    expect(result.err).toBe(
      `${file}:6:9: triggers.once.at: "2030-01-01T09:00:00" has no offset; write an ISO 8601 instant such as 2030-01-01T09:00:00Z\n1 error; nothing was applied\n`,
    );
  });
});

function createTestDatabaseHandle(): BelfryDatabase {
  return openDatabase({
    connectionString: testDatabaseUrl(),
    schema: uniqueSchema('behind'),
    maxConnections: 2,
  });
}
