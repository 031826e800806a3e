/**
 * The local cluster's connection file: how `belfry history` in a second terminal finds the `belfry dev`
 * (`npm start`) running in the same project, with no DATABASE_URL to copy.
 *
 * `belfry dev` writes `.belfry/cluster.json` (mode 0600: it holds the database password and the admin
 * token) when its data directory lives in the project's `.belfry/`, and removes it when it exits. A
 * command that needs a database and was given none (no --database-url, no DATABASE_URL) looks for the
 * file from the current directory upwards, and uses it only while it is true: the `belfry dev` that
 * wrote it is alive, its data directory is inside that same `.belfry/` (a file copied from elsewhere
 * does not count), and the PostgreSQL running there listens on the recorded port (a pid reused after a
 * crash that left the file behind does not count either).
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { z } from 'zod';
import { SettingsError, type Settings } from './settings.js';

export const LOCAL_CLUSTER_FOLDER = '.belfry';
const FILE = 'cluster.json';

const localClusterSchema = z.object({
  url: z.string().min(1),
  pid: z.number().int().positive(),
  dataDir: z.string().min(1),
  port: z.number().int().positive(),
  schema: z.string().min(1),
  adminUrl: z.string().optional(),
  adminToken: z.string().optional(),
});

export type LocalCluster = z.infer<typeof localClusterSchema>;

/**
 * Where `belfry dev` started in `projectDir` with `dataDir` records itself; undefined when the data
 * lives outside the project's `.belfry/` (a test's or an operator's own folder: no other command in the
 * project should wander into it).
 */
export function localClusterFile(projectDir: string, dataDir: string): string | undefined {
  const folder = resolve(projectDir, LOCAL_CLUSTER_FOLDER);
  return isInside(resolve(projectDir, dataDir), folder) ? join(folder, FILE) : undefined;
}

/** Written whole or not at all (a reader never sees half a file), readable by this user only. */
export function writeLocalCluster(file: string, cluster: LocalCluster): void {
  mkdirSync(dirname(file), { recursive: true });
  const partial = `${file}.${cluster.pid}.tmp`;
  writeFileSync(partial, `${JSON.stringify(cluster, null, 2)}\n`, { mode: 0o600 });
  // The mode given to writeFileSync is filtered by the umask; the password must not be world-readable.
  chmodSync(partial, 0o600);
  renameSync(partial, file);
}

/** Removes the file if `pid` wrote it: a second `belfry dev` that took over the file keeps it. */
export function removeLocalCluster(file: string, pid: number): void {
  if (readCluster(file)?.pid === pid) rmSync(file, { force: true });
}

export interface FoundCluster {
  cluster: LocalCluster;
  /** The `.belfry/` folder, relative to `from` (for the notice), with a trailing separator. */
  folder: string;
}

/** The running local cluster of the project around `from`, if there is one. */
export function findLocalCluster(from: string): FoundCluster | undefined {
  for (let dir = resolve(from); ; dir = dirname(dir)) {
    const folder = join(dir, LOCAL_CLUSTER_FOLDER);
    const cluster = readCluster(join(folder, FILE));
    if (cluster && isRunning(cluster, folder)) {
      return { cluster, folder: `${relative(from, folder) || '.'}${sep}` };
    }
    if (dirname(dir) === dir) return undefined;
  }
}

export interface DatabaseChoice {
  url: string;
  /** The schema of the local cluster, when that is where the URL came from. */
  schema?: string;
  /** The `.belfry/` folder the URL came from. */
  localFolder?: string;
}

/**
 * The database a command uses: --database-url, else DATABASE_URL, else the project's running local
 * cluster; with none of them, one line that says both ways to get one.
 */
export function chooseDatabase(settings: Settings, flag: string | undefined, cwd: string): DatabaseChoice {
  const url = flag ?? settings.DATABASE_URL;
  if (url) return { url };
  const found = findLocalCluster(cwd);
  if (found) return { url: found.cluster.url, schema: found.cluster.schema, localFolder: found.folder };
  throw new SettingsError(
    'no database: set DATABASE_URL (or pass --database-url), or run `npm start` (belfry dev) in this project to start a local cluster',
  );
}

/** The one line that says where the database came from, dim when stderr is a terminal. */
export function localClusterNotice(folder: string, tty: boolean): string {
  const text = `using the local cluster in ${folder}`;
  return tty ? `\x1b[2m${text}\x1b[0m\n` : `${text}\n`;
}

function readCluster(file: string): LocalCluster | undefined {
  if (!existsSync(file)) return undefined;
  try {
    const parsed = localClusterSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

function isRunning(cluster: LocalCluster, folder: string): boolean {
  if (!isInside(resolve(cluster.dataDir), folder)) return false;
  try {
    process.kill(cluster.pid, 0);
  } catch (error) {
    // EPERM: alive, but another user's process (belfry dev started by root, read by a user).
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const port = postmasterPort(cluster.dataDir);
  return port !== 'stopped' && (port === undefined || port === cluster.port);
}

/**
 * The port in the server's postmaster.pid (its fourth line), `stopped` when the server is not running,
 * undefined when the file cannot be read (another user's data directory: the pid check has to do).
 */
function postmasterPort(dataDir: string): number | 'stopped' | undefined {
  let text: string;
  try {
    text = readFileSync(join(dataDir, 'postmaster.pid'), 'utf8');
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'stopped' : undefined;
  }
  const port = Number(text.split('\n')[3]);
  return Number.isInteger(port) && port > 0 ? port : undefined;
}

function isInside(path: string, folder: string): boolean {
  const rel = relative(folder, path);
  return rel !== '' && !rel.startsWith('..') && !rel.startsWith(sep) && !/^[a-zA-Z]:/.test(rel);
}
