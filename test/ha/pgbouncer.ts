/**
 * A real PgBouncer (Debian's) in front of a PostgreSQL server, for the pooler tests: one process, two
 * database names on it, one per pool mode:
 *   - `<db>_tx`: pool_mode transaction (what most production PgBouncers run);
 *   - `<db>_session`: pool_mode session.
 * PgBouncer refuses to run as root, so as root it runs as the `postgres` OS user. It accepts only the
 * startup parameters it knows; Belfry's pool sends statement_timeout and
 * idle_in_transaction_session_timeout, so they are listed in `ignore_startup_parameters` (behind a
 * transaction pooler they are set on the role instead: see docs/operations.md).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { which } from './ha-tools.js';
import { freePorts } from './patroni-cluster.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export type PoolMode = 'transaction' | 'session';

export class PgBouncer {
  readonly workDir = mkdtempSync('/tmp/belfry-pgbouncer-');
  port = 0;
  #child: ChildProcess | undefined;
  readonly #server: URL;

  constructor(serverUrl: string) {
    this.#server = new URL(serverUrl);
  }

  /** A URL through PgBouncer to the same database and user, in the given pool mode. */
  url(mode: PoolMode): string {
    const url = new URL(this.#server.toString());
    url.host = `127.0.0.1:${this.port}`;
    url.pathname = `/${this.#alias(mode)}`;
    return url.toString();
  }

  #alias(mode: PoolMode): string {
    return `${this.#server.pathname.slice(1) || 'postgres'}_${mode === 'transaction' ? 'tx' : 'session'}`;
  }

  async start(options: { ignoreStartupParameters?: boolean } = {}): Promise<void> {
    const binary = which('pgbouncer');
    if (!binary) throw new Error('pgbouncer is missing');
    [this.port] = (await freePorts(1)) as [number];
    const server = this.#server;
    const user = decodeURIComponent(server.username);
    const password = decodeURIComponent(server.password);
    const db = server.pathname.slice(1) || 'postgres';
    const target = `host=${server.hostname} port=${server.port || 5432} dbname=${db} user=${user} password=${password}`;
    const ini = [
      '[databases]',
      `${this.#alias('transaction')} = ${target} pool_mode=transaction`,
      `${this.#alias('session')} = ${target} pool_mode=session`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${this.port}`,
      'unix_socket_dir =',
      'auth_type = trust',
      `auth_file = ${join(this.workDir, 'users.txt')}`,
      'max_client_conn = 1000',
      'default_pool_size = 40',
      'server_reset_query = DISCARD ALL',
      ...(options.ignoreStartupParameters === false
        ? []
        : ['ignore_startup_parameters = statement_timeout,idle_in_transaction_session_timeout']),
      `logfile = ${join(this.workDir, 'pgbouncer.log')}`,
      `pidfile = ${join(this.workDir, 'pgbouncer.pid')}`,
    ];
    writeFileSync(join(this.workDir, 'pgbouncer.ini'), `${ini.join('\n')}\n`);
    writeFileSync(join(this.workDir, 'users.txt'), `"${user}" ""\n`);
    const asRoot = process.getuid?.() === 0;
    if (asRoot) {
      const id = (flag: string) =>
        Number(spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' }).stdout.trim());
      for (const file of ['', 'pgbouncer.ini', 'users.txt'])
        chownSync(join(this.workDir, file), id('-u'), id('-g'));
    }
    const command = asRoot
      ? ['runuser', '-u', 'postgres', '--', binary, join(this.workDir, 'pgbouncer.ini')]
      : [binary, join(this.workDir, 'pgbouncer.ini')];
    const out = openSync(join(this.workDir, 'stdout.log'), 'a');
    this.#child = spawn(command[0]!, command.slice(1), { detached: true, stdio: ['ignore', out, out] });
    this.#child.unref();
    const deadline = Date.now() + 15_000;
    for (;;) {
      const client = new pg.Client({ connectionString: this.url('session'), connectionTimeoutMillis: 1_000 });
      client.on('error', () => {});
      try {
        await client.connect();
        await client.query('SELECT 1');
        return;
      } catch (error) {
        if (Date.now() > deadline)
          throw new Error(`PgBouncer did not start: ${(error as Error).message} (${this.workDir})`);
        await sleep(200);
      } finally {
        await client.end().catch(() => {});
      }
    }
  }

  async stop(options: { keep?: boolean } = {}): Promise<void> {
    const pid = this.#child?.pid;
    if (pid) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    await sleep(100);
    if (!options.keep) rmSync(this.workDir, { recursive: true, force: true });
  }
}
