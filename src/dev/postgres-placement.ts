/**
 * Where the embedded PostgreSQL's binaries and data live, and which OS user runs it.
 *
 * PostgreSQL refuses to run as root, so as root the server runs as an unprivileged `postgres` user
 * (created when missing). That user must be able to reach the binaries and the data directory. A
 * checkout in `/root` or in a `mktemp -d` folder (mode 0700) is not reachable, so there:
 *  - the package's native tree (bin, lib, share) is staged once, hard-linked when possible, under
 *    `<tmpdir>/belfry-postgres/pg-<version>-<platform>-<arch>`; PostgreSQL finds its lib and share
 *    directories relative to its binary, so the staged copy is complete;
 *  - the data directory moves to `<tmpdir>/belfry-postgres/data-<hash of the requested path>`, and a
 *    persistent one is reached through a symlink at the requested path (`.belfry/pg`), so the next run
 *    finds the same data and the user can see where it lives.
 * The staging root is created by root, mode 0755, and refused when someone else owns it or can write
 * to it: `/tmp` is shared, and these binaries run.
 *
 * Reachability is tested by running `test` as the `postgres` user, with the same uid/gid switch the
 * server gets, rather than by reading mode bits: ACLs, group membership and mount options all count.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  copyFileSync,
  chmodSync,
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import { arch, platform, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { BelfryError } from '../errors/belfry-error.js';

/** A failure to set up the embedded server, worded as one line: what, where, and what to do. */
export class EmbeddedPostgresError extends BelfryError.withCode('BELFRY_ERR_EMBEDDED_POSTGRES') {}

export interface RunAs {
  uid: number;
  gid: number;
}

export interface Placement {
  /** The directory holding `initdb` and `postgres`. */
  binDir: string;
  dataDir: string;
  /** The OS user the server runs as; undefined when it runs as the current (non-root) user. */
  runAs?: RunAs;
  /** Set when the data lives elsewhere than requested: a line for the user. */
  relocatedNote?: string;
}

const STAGING_NAME = 'belfry-postgres';

export async function placeEmbeddedPostgres(options: {
  dataDir: string;
  persistent: boolean;
}): Promise<Placement> {
  const nativeDir = await locateNativeDir();
  const requested = resolve(options.dataDir);
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!isRoot) return { binDir: join(nativeDir, 'bin'), dataDir: requested };

  const runAs = ensurePostgresUser();
  const binDir = canReach(runAs, join(nativeDir, 'bin', 'postgres'))
    ? join(nativeDir, 'bin')
    : join(stageBinaries(nativeDir, stagingRoot(runAs)), 'bin');

  const current = followLink(requested);
  if (canReach(runAs, nearestExisting(current))) {
    const relocatedNote = current === requested ? undefined : `data in ${current} (${requested} links there)`;
    return { binDir, dataDir: current, runAs, relocatedNote };
  }

  const relocated = join(stagingRoot(runAs), `data-${shortHash(requested)}`);
  if (options.persistent) linkDataDir(requested, relocated);
  return {
    binDir,
    dataDir: relocated,
    runAs,
    relocatedNote: options.persistent
      ? `data in ${relocated} (${requested} links there: the postgres user cannot reach this folder)`
      : `data in ${relocated} (the postgres user cannot reach ${requested})`,
  };
}

/** The platform package's `native` directory (embedded-postgres's optional dependency for this OS). */
async function locateNativeDir(): Promise<string> {
  const name = `@embedded-postgres/${platform()}-${arch()}`;
  let initdb: string;
  try {
    ({ initdb } = (await import(name)) as { initdb: string });
  } catch {
    throw new EmbeddedPostgresError(
      `no embedded PostgreSQL for ${platform()}-${arch()} (package ${name} is not installed); run npm ci, or set DATABASE_URL to a PostgreSQL server`,
    );
  }
  return dirname(dirname(initdb));
}

function ensurePostgresUser(): RunAs {
  const found = lookUpUser('postgres');
  if (found) return found;
  try {
    // What embedded-postgres does, as a system account without a login shell.
    execFileSync('groupadd', ['--system', 'postgres'], { stdio: 'ignore' });
    execFileSync('useradd', ['--system', '-g', 'postgres', '-M', '-s', '/usr/sbin/nologin', 'postgres'], {
      stdio: 'ignore',
    });
  } catch {
    // reported below, with what to do
  }
  const created = lookUpUser('postgres');
  if (created) return created;
  throw new EmbeddedPostgresError(
    'PostgreSQL refuses to run as root and no "postgres" user exists (groupadd/useradd failed); create one with `useradd postgres`, run as a normal user, or set DATABASE_URL',
  );
}

function lookUpUser(name: string): RunAs | undefined {
  try {
    const uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8', stdio: 'pipe' }).trim());
    const gid = Number(execFileSync('id', ['-g', name], { encoding: 'utf8', stdio: 'pipe' }).trim());
    return Number.isInteger(uid) && Number.isInteger(gid) ? { uid, gid } : undefined;
  } catch {
    return undefined;
  }
}

/** Whether `runAs` can reach `path` (search every parent directory, and use the path itself). */
export function canReach(runAs: RunAs, path: string): boolean {
  const result = spawnSync('/bin/sh', ['-c', 'test -x "$1"', 'sh', path], {
    uid: runAs.uid,
    gid: runAs.gid,
    stdio: 'ignore',
  });
  return result.status === 0;
}

function stagingRoot(runAs: RunAs): string {
  const root = join(tmpdir(), STAGING_NAME);
  mkdirSync(root, { recursive: true, mode: 0o755 });
  const stat = lstatSync(root);
  if (!stat.isDirectory() || stat.uid !== 0 || (stat.mode & 0o022) !== 0) {
    throw new EmbeddedPostgresError(
      `refusing to use ${root} for the embedded PostgreSQL: it is not a directory owned by root and writable only by root; remove it, or set TMPDIR to another folder`,
    );
  }
  chmodSync(root, 0o755);
  if (!canReach(runAs, root)) {
    throw new EmbeddedPostgresError(
      `the postgres user cannot reach ${root}; set TMPDIR to a folder every user can traverse (such as /tmp), or set DATABASE_URL`,
    );
  }
  return root;
}

/** Stages the native tree once per package version; a crash half-way leaves only a temp folder. */
function stageBinaries(nativeDir: string, root: string): string {
  const version = readVersion(nativeDir);
  const target = join(root, `pg-${version}-${platform()}-${arch()}`);
  if (existsSync(join(target, 'bin', 'postgres'))) return target;
  const temp = `${target}.tmp-${randomBytes(4).toString('hex')}`;
  try {
    copyTree(nativeDir, temp);
    renameSync(temp, target);
  } catch (error) {
    rmSync(temp, { recursive: true, force: true });
    // Another process staged the same version at the same moment: theirs is as good as ours.
    if (!existsSync(join(target, 'bin', 'postgres'))) throw error;
  }
  return target;
}

function readVersion(nativeDir: string): string {
  try {
    const manifest = JSON.parse(readFileSync(join(nativeDir, '..', 'package.json'), 'utf8')) as {
      version?: string;
    };
    return manifest.version ?? 'unknown';
  } catch {
    return shortHash(nativeDir);
  }
}

function copyTree(from: string, to: string): void {
  mkdirSync(to, { mode: 0o755 });
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    const source = join(from, entry.name);
    const target = join(to, entry.name);
    if (entry.isSymbolicLink()) symlinkSync(readlinkSync(source), target);
    else if (entry.isDirectory()) copyTree(source, target);
    else copyFile(source, target);
  }
}

/** A hard link when possible; a copy (readable by all) when across file systems or not world-readable. */
function copyFile(source: string, target: string): void {
  const mode = lstatSync(source).mode & 0o777;
  if ((mode & 0o004) !== 0) {
    try {
      linkSync(source, target);
      return;
    } catch {
      // EXDEV and friends: copy instead
    }
  }
  copyFileSync(source, target);
  chmodSync(target, mode | 0o444 | (mode & 0o100 ? 0o111 : 0));
}

/** The symlink's target when `path` is one (the data of an earlier run, relocated); else `path`. */
function followLink(path: string): string {
  try {
    if (lstatSync(path).isSymbolicLink()) return resolve(dirname(path), readlinkSync(path));
  } catch {
    // does not exist yet
  }
  return path;
}

function nearestExisting(path: string): string {
  let current = path;
  while (!existsSync(current) && dirname(current) !== current) current = dirname(current);
  return current;
}

function linkDataDir(requested: string, relocated: string): void {
  let existing: ReturnType<typeof lstatSync> | undefined;
  try {
    existing = lstatSync(requested);
  } catch {
    existing = undefined;
  }
  if (existing?.isSymbolicLink()) rmSync(requested);
  else if (existing?.isDirectory() && readdirSync(requested).length === 0)
    rmSync(requested, { recursive: true });
  else if (existing) {
    throw new EmbeddedPostgresError(
      `the postgres user cannot reach the data in ${requested}; move this folder where every user can traverse, or delete it to start afresh in ${relocated}`,
    );
  }
  mkdirSync(dirname(requested), { recursive: true });
  symlinkSync(relocated, requested);
}

function shortHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 12);
}
