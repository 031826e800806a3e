/**
 * `belfry dev` (what `npm start` runs): an embedded PostgreSQL from npm, migrations, and a local cluster
 * of replica processes running the given YAML, with one readable line per fire. Ctrl-C stops it all
 * cleanly; the data lives in a git-ignored folder and the next run reuses it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { startEmbeddedPostgres } from '../dev/embedded-postgres.js';
import { openDatabase } from '../store/database.js';
import { migrate } from '../store/migrator.js';
import { readSettings } from './settings.js';

interface DevFlags {
  config: string[];
  replicas: string;
  dataDir: string;
  port: string;
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
    .option('--schema <name>', 'Belfry schema')
    .action(async (flags: DevFlags) => {
      process.exit(await runDev(flags));
    });
}

async function runDev(flags: DevFlags): Promise<number> {
  const settings = readSettings();
  const schema = flags.schema ?? settings.BELFRY_SCHEMA;
  const replicas = Number(flags.replicas);
  say(`starting embedded PostgreSQL in ${flags.dataDir} …`);
  const server = await startEmbeddedPostgres({
    dataDir: flags.dataDir,
    port: Number(flags.port),
    persistent: true,
  });
  say(`PostgreSQL ready at postgres://postgres:***@127.0.0.1:${server.port}/postgres`);
  const database = openDatabase({ connectionString: server.url, schema, maxConnections: 1 });
  const migrated = await migrate(database.pool, schema);
  await database.destroy();
  say(
    migrated.applied.length
      ? `migrated schema "${schema}" to version ${migrated.current}`
      : `schema "${schema}" is current`,
  );

  const children: ChildProcess[] = [];
  let stopping = false;
  const exited: Promise<void>[] = [];
  for (let i = 1; i <= replicas; i += 1) {
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
          DATABASE_URL: server.url,
          BELFRY_HTTP_PORT: String(8080 + i),
          BELFRY_SHUTDOWN_TIMEOUT: '10s',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
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
          if (!stopping) say(`${name} exited (${signal ?? code}); Ctrl-C to stop the rest`);
          resolve();
        }),
      ),
    );
  }
  say(`${replicas} replicas started (admin: http://127.0.0.1:8081/readyz …); Ctrl-C to stop`);

  await new Promise<void>((resolve) => {
    const stop = () => {
      if (stopping) return;
      stopping = true;
      say('stopping replicas gracefully …');
      for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    void Promise.all(exited).then(stop);
  });
  await Promise.all(exited);
  await server.stop();
  say('stopped; data kept for the next run');
  return 0;
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
