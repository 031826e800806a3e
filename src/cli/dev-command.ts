/**
 * `belfry dev` (what `npm start` runs): an embedded PostgreSQL from npm, migrations, and a local cluster
 * of replica processes running the given YAML, with one readable line per fire. One Ctrl-C stops it all
 * cleanly (replicas drain, resign and check out, then the server stops); the data lives in a git-ignored
 * folder (or, when the postgres user cannot reach it, in a folder it links to) and the next run reuses it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { startEmbeddedPostgres, type EmbeddedServer } from '../dev/embedded-postgres.js';
import { openDatabase, type BelfryDatabase } from '../store/database.js';
import { demoKeyHandler, KEYS_HELP, listenForKeys, RESTART_DELAY_MS } from '../dev/demo-keys.js';
import { ReplicaSet } from '../dev/replica-set.js';
import { COLORS, fireScheduledAt, ReplicaLogView, RESET } from '../dev/replica-log-line.js';
import { loadDefinitions } from '../config/definition-loader.js';
import { localClusterFile, removeLocalCluster, writeLocalCluster } from './local-cluster.js';
import { migrate } from '../store/migrator.js';
import { generateAdminToken, processEnvironment, readSettings } from './settings.js';
import { onStopSignals, type SignalSource } from './shutdown-signals.js';
import { dropOutputWhenReaderGone, formatTable } from './output.js';
import { systemClock } from '../time/clock.js';

interface DevFlags {
  config: string[];
  replicas: string;
  dataDir: string;
  port: string;
  adminPort: string;
  schema?: string;
}

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
  // The reader of this output gone (`| head`, or the Ctrl-C of `| tee` that ended tee): output is
  // dropped and the cluster stops gracefully, as on a Ctrl-C (no second request if one came already).
  dropOutputWhenReaderGone(() => {
    process.stderr.write('belfry dev: the reader of its output is gone; stopping gracefully\n');
    stop.readerGone();
  });
  try {
    return await runServerAndReplicas({
      flags,
      schema,
      replicas,
      adminToken,
      stop,
      leaseTtlMs: settings.BELFRY_LEASE_TTL,
    });
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
  leaseTtlMs: number;
}): Promise<number> {
  const { flags, schema, replicas, adminToken, stop } = run;
  say(`starting embedded PostgreSQL in ${flags.dataDir} …`);
  const server = await startEmbeddedPostgres({
    dataDir: flags.dataDir,
    port: Number(flags.port),
    persistent: true,
    // Ctrl-C must not shut the server down under replicas that are still checking out.
    ownProcessGroup: true,
    env: processEnvironment(),
  });
  // The server and the replicas live in their own process groups: whatever way this process ends, they
  // are told to stop too.
  const children: ChildProcess[] = [];
  const leaveNothingRunning = () => {
    for (const child of children)
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        // A replica stopped by the `s` key would hold its SIGTERM until continued.
        child.kill('SIGCONT');
      }
    server.signalStop();
  };
  process.once('exit', leaveNothingRunning);
  // The connection file lets the project's other commands find this cluster while it runs, and only then.
  const connectionFile = localClusterFile(process.cwd(), flags.dataDir);
  const adminPort = Number(flags.adminPort);
  const announce = () => {
    if (!connectionFile) return;
    writeLocalCluster(connectionFile, {
      url: server.url,
      pid: process.pid,
      dataDir: resolve(flags.dataDir),
      port: server.port,
      schema,
      ...(adminPort ? { adminUrl: `http://127.0.0.1:${adminPort}`, adminToken: adminToken.value } : {}),
    });
  };
  const unannounce = () => {
    if (connectionFile) removeLocalCluster(connectionFile, process.pid);
  };
  process.once('exit', unannounce);
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
    announce();
    const failed = await runReplicas({
      flags,
      schema,
      replicas,
      url: server.url,
      children,
      adminToken,
      stop,
      leaseTtlMs: run.leaseTtlMs,
    });
    unannounce();
    await server.stop();
    say(
      failed.length
        ? `stopped; ${failed.join(', ')} did not stop cleanly; data kept for the next run`
        : 'stopped; data kept for the next run',
    );
    return failed.length ? 1 : 0;
  } finally {
    unannounce();
    leaveNothingRunning();
    await server.stop();
    process.removeListener('exit', leaveNothingRunning);
    process.removeListener('exit', unannounce);
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
  leaseTtlMs: number;
}): Promise<string[]> {
  const { flags, schema, children } = run;
  const adminPort = Number(flags.adminPort);
  const names = Array.from({ length: run.replicas }, (_, i) => `replica-${i + 1}`);
  const policies = await misfirePolicies(flags.config);
  const view = new ReplicaLogView({ policyOf: (trigger) => policies.get(trigger) });
  const print = (lines: string[]) => {
    for (const text of lines) process.stdout.write(`${text}\n`);
  };
  const replicas = new ReplicaSet({
    names,
    restartDelayMs: RESTART_DELAY_MS,
    spawn(name) {
      const i = names.indexOf(name) + 1;
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
            ...processEnvironment(),
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
      createInterface({ input: child.stdout! }).on('line', (line) => {
        firstFireAt ??= fireScheduledAt(line);
        print(view.lines(line, name, color, systemClock.monotonicMs()));
      });
      createInterface({ input: child.stderr! }).on('line', (line) =>
        process.stderr.write(`${color}${name}${RESET} ${line}\n`),
      );
      return child;
    },
    onUnexpectedExit: (name, how) => say(`${name} exited (${how}); Ctrl-C to stop the rest`),
    onRestarted: (name, pid) => say(`k: restarted ${name} (pid ${pid})`),
  });
  let firstFireAt: Date | undefined;
  // A trigger's misfires after an outage are told in one line, once they stop coming.
  const summaries = setInterval(() => print(view.due(systemClock.monotonicMs())), 500);
  summaries.unref();
  replicas.start();
  say(
    `${run.replicas} replicas started${adminPort ? ` (admin: http://127.0.0.1:${adminPort}/readyz …)` : ''}; Ctrl-C to stop`,
  );
  if (adminPort) {
    say(
      run.adminToken.generated
        ? `admin API token (generated for this run): ${run.adminToken.value}`
        : 'admin API token: $BELFRY_HTTP_TOKEN',
    );
    say(
      `dashboard: http://127.0.0.1:${adminPort}/ui/ (log in with the admin API token ${run.adminToken.generated ? 'above' : 'in $BELFRY_HTTP_TOKEN'})`,
    );
  }
  say('try, in a second terminal of this project (no DATABASE_URL needed):');
  for (const command of TRY_NEXT) say(`  ${command}`);

  let database: BelfryDatabase | undefined;
  const stopKeys = listenForKeys(
    { input: process.stdin, output: process.stdout },
    {
      onCtrlC: () => run.stop.ctrlC(),
      onKey: demoKeyHandler({
        replicas,
        executor() {
          database ??= openDatabase({
            connectionString: run.url,
            schema,
            maxConnections: 2,
            applicationName: 'belfry-dev',
          });
          return { db: database.db, schema: database.schema };
        },
        clock: systemClock,
        leaseTtlMs: run.leaseTtlMs,
        auditSince: () => firstFireAt,
        say,
        print: (text) => process.stdout.write(text),
        table: formatTable,
      }),
    },
  );
  // Whatever way this process ends, the terminal gets its line discipline back.
  if (stopKeys) process.once('exit', stopKeys);
  if (stopKeys) say(`keys: ${KEYS_HELP}`);

  run.stop.onRequest(
    () => {
      say('stopping replicas gracefully (drain, resign, check out) …');
      replicas.stop();
    },
    () => {
      say('second Ctrl-C: replicas exit now');
      replicas.stopNow();
    },
  );
  try {
    return await replicas.done;
  } finally {
    clearInterval(summaries);
    print(view.flush());
    stopKeys?.();
    await database?.destroy();
  }
}

/** Each trigger's misfire policy, from the YAML the replicas run (for the misfire summaries). */
async function misfirePolicies(files: string[]): Promise<Map<string, string>> {
  // The replicas report a file's errors; without the policies the summaries just do not name them.
  const loaded = await loadDefinitions(files).catch(() => undefined);
  if (!loaded?.ok) return new Map();
  return new Map(loaded.definitions.triggers.map((trigger) => [trigger.name, trigger.record.misfirePolicy]));
}

/** What the banner suggests next; the README's "Try it" block runs the first two (a test checks it). */
const TRY_NEXT = [
  'npx belfry history --since 1m   # the fires so far',
  'npx belfry cluster              # the replicas, the leader and its epoch',
  'npx belfry triggers             # the triggers and their next fire times',
];

async function stoppedEarly(server: EmbeddedServer): Promise<number> {
  await server.stop();
  say('stopped before the replicas started; data kept for the next run');
  return 0;
}

interface StopRequests {
  readonly requested: boolean;
  /** A Ctrl-C read as a key (raw mode): the same request a SIGINT makes. */
  ctrlC(): void;
  /** stdout's reader went away: a graceful stop, unless one was requested already (never "stop now"). */
  readerGone(): void;
  /** What to do on the first request (at once if it already came) and on a later, separate one. */
  onRequest(graceful: () => void, urgent: () => void): void;
  remove(): void;
}

function stopRequests(): StopRequests {
  let requested = false;
  let graceful = () => {};
  let urgent = () => {};
  const keyboard = new EventEmitter();
  const remove = onStopSignals(
    {
      graceful() {
        if (requested) return; // the reader went away first: this stop is under way
        requested = true;
        graceful();
      },
      urgent: () => urgent(),
    },
    { clock: systemClock, source: signalsAndKeyboard(keyboard) },
  );
  return {
    ctrlC: () => keyboard.emit('SIGINT', 'SIGINT'),
    readerGone() {
      if (requested) return;
      requested = true;
      graceful();
    },
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

/** The process's signals, plus the Ctrl-C that raw mode delivers as a key (emitted as 'SIGINT'). */
function signalsAndKeyboard(keyboard: EventEmitter): SignalSource {
  return {
    on(signal, listener) {
      process.on(signal, listener);
      keyboard.on(signal, listener);
    },
    removeListener(signal, listener) {
      process.removeListener(signal, listener);
      keyboard.removeListener(signal, listener);
    },
  };
}

function say(message: string): void {
  process.stdout.write(`\x1b[1mbelfry dev\x1b[0m ${message}\n`);
}
