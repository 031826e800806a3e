/**
 * `belfry apply` run in-process as a user runs it, and a fingerprint of a schema that shows whether
 * anything at all was written: shared by the apply CLI tests.
 */
import { Command, CommanderError } from 'commander';
import { sql } from 'kysely';
import { registerApplyCommand } from '../../../src/cli/apply-command.js';
import type { Db } from '../../../src/store/database.js';
import { testDatabaseUrl } from '../../support/schema.js';
import { yaml } from '../../unit/config/definition-files.js';

export const BASE = yaml`
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
export const SMALLER = yaml`
  jobs:
    report:
      module: ./jobs/report.ts
`;

export interface CliResult {
  out: string;
  err: string;
  exitCode: number;
}

/** `belfry apply …` in-process: stdout, stderr and the exit code. */
export async function runApply(args: string[], schema: string): Promise<CliResult> {
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
export async function schemaFingerprint(db: Db, schema: string): Promise<Record<string, string>> {
  const { rows: relations } = await sql<{ name: string; kind: string }>`
    SELECT c.relname AS name, c.relkind AS kind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = ${schema} ORDER BY c.relname`.execute(db);
  const print: Record<string, string> = {};
  for (const { name, kind } of relations) {
    if (kind !== 'r') {
      print[name] = kind;
      continue;
    }
    const { rows } = await sql<{ count: string; digest: string | null }>`
      SELECT count(*) AS count, md5(string_agg(t::text, '|' ORDER BY t::text)) AS digest
        FROM ${sql.table(`${schema}.${name}`)} t`.execute(db);
    print[name] = `${rows[0]!.count} ${rows[0]!.digest ?? '-'}`;
  }
  return print;
}
