/**
 * `belfry dev` (what `npm start` runs): an embedded PostgreSQL from npm, migrations, and a local cluster
 * of replica processes running the given YAML, with one readable line per fire. One Ctrl-C stops it all
 * cleanly (replicas drain, resign and check out, then the server stops); the data lives in a git-ignored
 * folder (or, when the postgres user cannot reach it, in a folder it links to) and the next run reuses it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { startEmbeddedPostgres, type EmbeddedServer } from '../dev/embedded-postgres.js';
import { openDatabase } from '../store/database.js';
import { migrate } from '../store/migrator.js';
import { generateAdminToken, readSettings } from './settings.js';
import { onStopSignals } from './shutdown-signals.js';
import { systemClock } from '../time/clock.js';

interface DevFlags {
  config: string[];
  replicas: string;
  dataDir: string;
  port: string;
  adminPort: string;
  schema?: string;
}

const COLORS = ['\x1b[36m', '\x1b[35m', '\x1b[33m', '\x1b[32m', '\x1b[34m'];
const RESET = '\x1b[0m';

export function registerDevCommand(program: Command): void {
  program
    .command('dev')
    .description('run a local cluster on an embedded PostgreSQL (no install needed)')
    .option('-c, --config <file...>', 'YAML definitions', ['examples/belfry.yaml'])
    .option('-r, --replicas <n>', 'replica processes', '3')
    .option('--data-dir <dir>', 'where the embedded PostgreSQL keeps its data', '.belfry/pg')
    .option('--port <port>', 'embedded PostgreSQL port', '54329')
    .option(
      '--admin-port <port>',
      "first replica's admin port (the others take the next ones; 0: none)",
      '8081',
    )
    .option('--schema <name>', 'Belfry schema')
    .action(async (flags: DevFlags) => {
      process.exit(await runDev(flags));
    });
}

async function runDev(flags: DevFlags): Promise<number> {
  const settings = readSettings();
  // Loopback is no boundary for browsers: the dev cluster's admin API needs a token too.
  const adminToken = {
    value: settings.BELFRY_HTTP_TOKEN ?? generateAdminToken(),
    generated: !settings.BELFRY_HTTP_TOKEN,
  };
  const schema = flags.schema ?? settings.BELFRY_SCHEMA;
  const replicas = Number(flags.replicas);
  // Installed first: a Ctrl-C while the server starts or migrates ends the run there, cleanly.
  const stop = stopRequests();
  try {
    return await runServerAndReplicas({ flags, schema, replicas, adminToken, stop });
  } finally {
    stop.remove();
  }
}

async function runServerAndReplicas(run: {
  flags: DevFlags;
  schema: string;
  replicas: number;
  adminToken: { value: string; generated: boolean };
  stop: StopRequests;
}): Promise<number> {
  const { flags, schema, replicas, adminToken, stop } = run;
  say(`starting embedded PostgreSQL in ${flags.dataDir} …`);
  const server = await startEmbeddedPostgres({
    dataDir: flags.dataDir,
    port: Number(flags.port),
    persistent: true,
    // Ctrl-C must not shut the server down under replicas that are still checking out.
    ownProcessGroup: true,
  });
  // The server and the replicas live in their own process groups: whatever way this process ends, they
  // are told to stop too.
  const children: ChildProcess[] = [];
  const leaveNothingRunning = () => {
    for (const child of children)
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    server.signalStop();
  };
  process.once('exit', leaveNothingRunning);
  try {
    if (server.relocatedNote) say(server.relocatedNote);
    say(`PostgreSQL ready at postgres://postgres:***@127.0.0.1:${server.port}/postgres`);
    if (stop.requested) return await stoppedEarly(server);
    const database = openDatabase({ connectionString: server.url, schema, maxConnections: 1 });
    const migrated = await migrate(database.pool, schema).finally(() => database.destroy());
    say(
      migrated.applied.length
        ? `migrated schema "${schema}" to version ${migrated.current}`
        : `schema "${schema}" is current`,
    );
    if (stop.requested) return await stoppedEarly(server);
    const failed = await runReplicas({
      flags,
      schema,
      replicas,
      url: server.url,
      children,
      adminToken,
      stop,
    });
    await server.stop();
    say(
      failed.length
        ? `stopped; ${failed.join(', ')} did not stop cleanly; data kept for the next run`
        : 'stopped; data kept for the next run',
    );
    return failed.length ? 1 : 0;
  } finally {
    leaveNothingRunning();
    await server.stop();
    process.removeListener('exit', leaveNothingRunning);
  }
}

/**
 * Runs the replica processes until a stop request, and returns the names of those that did not exit 0.
 * Each replica runs in its own process group, so a terminal's Ctrl-C reaches only this process, which
 * sends each replica exactly one SIGTERM: one Ctrl-C is one graceful stop (drain, resign, check out).
 * A second, separate Ctrl-C forwards a second SIGTERM, which replicas take as "exit now".
 */
async function runReplicas(run: {
  flags: DevFlags;
  schema: string;
  replicas: number;
  url: string;
  children: ChildProcess[];
  adminToken: { value: string; generated: boolean };
  stop: StopRequests;
}): Promise<string[]> {
  const { flags, schema, children } = run;
  const adminPort = Number(flags.adminPort);
  let stopping = false;
  const failed: string[] = [];
  const exited: Promise<void>[] = [];
  for (let i = 1; i <= run.replicas; i += 1) {
    const name = `replica-${i}`;
    const child = spawn(
      process.execPath,
      [
        ...process.execArgv,
        process.argv[1]!,
        'start',
        '--config',
        ...flags.config,
        '--name',
        name,
        '--schema',
        schema,
      ],
      {
        env: {
          ...process.env,
          DATABASE_URL: run.url,
          BELFRY_HTTP_PORT: adminPort === 0 ? '0' : String(adminPort + i - 1),
          BELFRY_SHUTDOWN_TIMEOUT: '10s',
          BELFRY_HTTP_TOKEN: run.adminToken.value,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      },
    );
    children.push(child);
    const color = COLORS[(i - 1) % COLORS.length]!;
    createInterface({ input: child.stdout! }).on('line', (line) => printLogLine(line, name, color));
    createInterface({ input: child.stderr! }).on('line', (line) =>
      process.stderr.write(`${color}${name}${RESET} ${line}\n`),
    );
    exited.push(
      new Promise((resolve) =>
        child.on('exit', (code, signal) => {
          if (code !== 0) failed.push(name);
          if (!stopping) say(`${name} exited (${signal ?? code}); Ctrl-C to stop the rest`);
          resolve();
        }),
      ),
    );
  }
  say(
    `${run.replicas} replicas started${adminPort ? ` (admin: http://127.0.0.1:${adminPort}/readyz …)` : ''}; Ctrl-C to stop`,
  );

  if (adminPort)
    say(
      run.adminToken.generated
        ? `admin API token (generated for this run): ${run.adminToken.value}`
        : 'admin API token: $BELFRY_HTTP_TOKEN',
    );

  const signalReplicas = () => {
    for (const child of children)
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  };
  run.stop.onRequest(
    () => {
      if (stopping) return;
      stopping = true;
      say('stopping replicas gracefully (drain, resign, check out) …');
      signalReplicas();
    },
    () => {
      say('second Ctrl-C: replicas exit now');
      signalReplicas();
    },
  );
  // Every replica exited on its own: nothing left to run.
  void Promise.all(exited).then(() => (stopping = true));
  await Promise.all(exited);
  return failed;
}

async function stoppedEarly(server: EmbeddedServer): Promise<number> {
  await server.stop();
  say('stopped before the replicas started; data kept for the next run');
  return 0;
}

interface StopRequests {
  readonly requested: boolean;
  /** What to do on the first request (at once if it already came) and on a later, separate one. */
  onRequest(graceful: () => void, urgent: () => void): void;
  remove(): void;
}

function stopRequests(): StopRequests {
  let requested = false;
  let graceful = () => {};
  let urgent = () => {};
  const remove = onStopSignals(
    {
      graceful() {
        requested = true;
        graceful();
      },
      urgent: () => urgent(),
    },
    { clock: systemClock },
  );
  return {
    get requested() {
      return requested;
    },
    onRequest(onGraceful, onUrgent) {
      graceful = onGraceful;
      urgent = onUrgent;
      if (requested) onGraceful();
    },
    remove,
  };
}

function say(message: string): void {
  process.stdout.write(`\x1b[1mbelfry dev\x1b[0m ${message}\n`);
}

function printLogLine(line: string, replica: string, color: string): void {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    process.stdout.write(`${color}${replica}${RESET} ${line}\n`);
    return;
  }
  const time = typeof entry.time === 'string' ? entry.time.slice(11, 23) : '';
  const who = `${color}${replica.padEnd(10)}${RESET}`;
  if (
    entry.msg === 'execution finished' ||
    entry.msg === 'execution skipped' ||
    entry.msg === 'trigger misfired'
  ) {
    const status = String(entry.status);
    const mark =
      status === 'succeeded'
        ? '\x1b[32m✓'
        : status === 'skipped' || status === 'misfired'
          ? '\x1b[33m-'
          : '\x1b[31m✗';
    const detail = [
      entry.attempt && Number(entry.attempt) > 1 ? `attempt ${entry.attempt}` : '',
      entry.durationMs !== undefined ? `${entry.durationMs} ms` : '',
      entry.retryInMs ? `retry in ${entry.retryInMs} ms` : '',
      entry.error ? String(entry.error) : '',
    ]
      .filter(Boolean)
      .join(', ');
    process.stdout.write(
      `${time}  ${who} ${mark} ${String(entry.trigger).padEnd(22)} ${status}${RESET}${detail ? `  (${detail})` : ''}\n`,
    );
  } else if (Number(entry.level) >= 40 || /leader|started|stopped|dead|listening/.test(String(entry.msg))) {
    const extra =
      entry.epoch !== undefined
        ? ` epoch ${entry.epoch}`
        : entry.reason
          ? ` (${entry.reason})`
          : entry.url
            ? ` ${entry.url}`
            : '';
    process.stdout.write(`${time}  ${who} · ${entry.msg}${extra}\n`);
  }
}
