/**
 * `belfry apply --dry-run` reads only (no migration, no schema, a READ ONLY transaction) and says when
 * the schema is behind; an apply that migrated and then failed says so; bad input is one line with
 * its place, never an exception.
 */
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, type BelfryDatabase } from '../../../src/store/database.js';
import { loadMigrations, migrate } from '../../../src/store/migrator.js';
import { createTestDatabase, dropTestDatabase, testDatabaseUrl, uniqueSchema } from '../../support/schema.js';
import { definitionDir, yaml, type DefinitionDir } from '../../unit/config/definition-files.js';
import { BASE, runApply, schemaFingerprint, SMALLER } from './apply-cli.js';

let database: BelfryDatabase;
let files: DefinitionDir;

beforeEach(async () => {
  database = await createTestDatabase();
  files = definitionDir();
  files.write('jobs/report.ts', 'export default class Report { async execute() {} }\n');
});
afterEach(async () => {
  files.remove();
  await dropTestDatabase(database);
});

const belfry = (args: string[], schema = database.schema) => runApply(args, schema);
const fingerprint = (schema = database.schema) => schemaFingerprint(database.db, schema);

describe('apply against a schema that is behind or absent', () => {
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
