/**
 * Every CLI failure is one line on stderr (what, where, what to do) with a non-zero exit code, and no
 * stack; `--verbose` shows the stack.
 */
import { existsSync, lstatSync, mkdtempSync, readlinkSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../../src/dev/embedded-postgres.js';
import type { BelfryDatabase } from '../../../src/store/database.js';
import { createTestDatabase, dropTestDatabase, testDatabaseUrl } from '../../support/schema.js';
import { belfry } from './cli-process.js';

const UNREACHABLE = 'postgres://belfry:secret@127.0.0.1:1/belfry';
const STACK_FRAME = /\n\s+at /;

let database: BelfryDatabase;
let folder: string;
let takenPort: number;
let holder: Server;

beforeAll(async () => {
  database = await createTestDatabase();
  folder = mkdtempSync(join(tmpdir(), 'belfry-failures-'));
  takenPort = await freePort();
  holder = createServer();
  await new Promise<void>((resolve) => holder.listen(takenPort, '127.0.0.1', resolve));
});

afterAll(async () => {
  holder.close();
  await dropTestDatabase(database);
  const data = join(folder, 'pg');
  if (existsSync(data) && lstatSync(data).isSymbolicLink())
    rmSync(readlinkSync(data), { recursive: true, force: true });
  rmSync(folder, { recursive: true, force: true });
});

interface Case {
  name: string;
  args: () => string[];
  env?: () => Record<string, string>;
  /** Where the command runs (default: the repository). */
  cwd?: () => string;
  says: RegExp;
}

const cases: Case[] = [
  {
    name: 'unreachable database',
    args: () => ['cluster'],
    env: () => ({ DATABASE_URL: UNREACHABLE }),
    says: /^belfry: cannot reach PostgreSQL at 127\.0\.0\.1:1 \(connection refused\): is the server running\? check DATABASE_URL/,
  },
  {
    name: 'DATABASE_URL that is not a URL',
    args: () => ['history'],
    env: () => ({ DATABASE_URL: 'not a url' }),
    says: /^belfry: DATABASE_URL is not a PostgreSQL URL; expected a URL like postgres:\/\//,
  },
  {
    name: '--database-url of another database',
    args: () => ['cluster', '--database-url', 'mysql://root@127.0.0.1/belfry'],
    says: /^belfry: --database-url has the scheme "mysql:"/,
  },
  {
    name: 'no database at all',
    args: () => ['cluster'],
    env: () => ({ DATABASE_URL: '' }),
    // Outside any project with a running `belfry dev`: there is no local cluster to fall back on.
    cwd: () => folder,
    says: /^belfry: no database: set DATABASE_URL \(or pass --database-url\), or run `npm start` \(belfry dev\) in this project to start a local cluster$/,
  },
  {
    name: 'a bad setting',
    args: () => ['cluster'],
    env: () => ({ DATABASE_URL: testDatabaseUrl(), BELFRY_SHUTDOWN_TIMEOUT: 'soon' }),
    says: /^belfry: BELFRY_SHUTDOWN_TIMEOUT: "soon" is not a duration/,
  },
  {
    name: 'unknown trigger',
    args: () => ['trigger', 'no-such-trigger', '--schema', database.schema],
    env: () => ({ DATABASE_URL: testDatabaseUrl() }),
    says: /^belfry: unknown trigger "no-such-trigger": check the name and --schema/,
  },
  {
    name: 'schema not migrated',
    args: () => ['history', '--schema', 'never_migrated'],
    env: () => ({ DATABASE_URL: testDatabaseUrl() }),
    says: /^belfry: .*run `belfry migrate`/,
  },
  {
    name: 'unknown command',
    args: () => ['frobnicate'],
    says: /unknown command 'frobnicate'/,
  },
  {
    name: 'embedded PostgreSQL on a taken port',
    args: () => ['dev', '--data-dir', join(folder, 'pg'), '--port', String(takenPort), '--admin-port', '0'],
    says: /^belfry: the embedded PostgreSQL did not start: .*port \d+ is taken/,
  },
];

/** stderr without `belfry dev`'s progress lines (those go to stdout) */
function failureLines(stderr: string): string[] {
  return stderr.split('\n').filter(Boolean);
}

describe('CLI failures', () => {
  it.each(cases)(
    '$name: one line, non-zero exit, no stack',
    async ({ args, env, cwd, says }) => {
      const run = belfry(args(), { env: env?.(), cwd: cwd?.() });
      const code = await run.exited;
      const { stderr } = run.output();
      expect(code).not.toBe(0);
      expect(stderr).not.toMatch(STACK_FRAME);
      expect(failureLines(stderr)).toHaveLength(1);
      expect(stderr.trim()).toMatch(says);
    },
    60_000,
  );

  it.each(cases.filter((c) => ['unreachable database', 'unknown trigger'].includes(c.name)))(
    '$name with --verbose: the stack',
    async ({ args, env }) => {
      const run = belfry([...args(), '--verbose'], { env: env?.() });
      expect(await run.exited).not.toBe(0);
      expect(run.output().stderr).toMatch(STACK_FRAME);
    },
  );
});
