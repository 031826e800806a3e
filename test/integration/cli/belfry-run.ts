/** Runs one `belfry` command as a real process against a test schema, for the admin and CLI tests. */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { testDatabaseUrl } from '../../support/schema.js';

const BIN = fileURLToPath(new URL('../../../bin/belfry.js', import.meta.url));

export interface BelfryRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Resolves with the exit code and output, never rejects: tests assert on failures as on successes. */
export function runBelfry(schema: string, args: readonly string[]): Promise<BelfryRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      {
        env: {
          ...process.env,
          DATABASE_URL: testDatabaseUrl(),
          BELFRY_SCHEMA: schema,
          BELFRY_LOG_LEVEL: 'silent',
        },
        timeout: 30_000,
      },
      (error, stdout, stderr) =>
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
    );
  });
}
