/**
 * A real PostgreSQL HA cluster on loopback ports, for the HA tests: one etcd, three PostgreSQL nodes
 * each run by its own Patroni agent (as the `postgres` OS user, with Debian's PostgreSQL binaries), and
 * HAProxy in front routing to whichever node Patroni's REST API says is the primary (`GET /primary`).
 *
 * Everything lives under one work directory and is started and stopped here; stop() kills what is
 * still running (Patroni's postmasters run in their own session, so they are found through their
 * postmaster.pid) and removes the directory unless asked to keep it for a post-mortem.
 *
 * Faults:
 *   - killPostmaster(): SIGKILL the primary's postmaster and nothing else: its Patroni agent, still the
 *     leader in etcd, restarts it in place after crash recovery (or a standby takes over if that fails);
 *   - killNode(): SIGKILL the primary's postmaster and its Patroni agent together (the machine is gone):
 *     the leader key expires after `ttl` and a (synchronous) standby is promoted; the agent is started
 *     again afterwards and the old primary rejoins as a standby (pg_rewind);
 *   - switchover(): a planned switchover through Patroni's REST API.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { join } from 'node:path';
import pg from 'pg';
import { debianPostgresBin, which } from './ha-tools.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface PatroniNode {
  name: string;
  pgPort: number;
  restPort: number;
  dataDir: string;
  agent: ChildProcess | undefined;
}

export interface PatroniClusterOptions {
  /** Patroni's synchronous_mode (with synchronous_mode_strict off: async while no standby is there). */
  synchronous: boolean;
  log?: (line: string) => void;
  /** Patroni's leader key TTL in seconds (how long a dead primary holds the lock); default 10. */
  ttl?: number;
}

export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<Server>((resolve, reject) => {
          const server = createServer();
          server.once('error', reject);
          server.listen(0, '127.0.0.1', () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((server) => (server.address() as AddressInfo).port);
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}

function postgresUser(): { uid: number; gid: number } {
  const id = (flag: string) =>
    Number(spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' }).stdout.trim());
  const uid = id('-u');
  const gid = id('-g');
  if (!Number.isInteger(uid) || !Number.isInteger(gid) || Number.isNaN(uid))
    throw new Error('no postgres OS user: Patroni must run PostgreSQL as a non-root user');
  return { uid, gid };
}

export class PatroniCluster {
  readonly nodes: PatroniNode[] = [];
  readonly workDir: string;
  readonly superuser = { user: 'postgres', password: 'belfry-ha' };
  #etcd: ChildProcess | undefined;
  #haproxy: ChildProcess | undefined;
  #etcdPort = 0;
  #etcdPeerPort = 0;
  haproxyPort = 0;
  readonly #log: (line: string) => void;
  readonly #asRoot = process.getuid?.() === 0;
  readonly #bin: string;
  readonly #ttl: number;

  constructor(private readonly options: PatroniClusterOptions) {
    this.#log = options.log ?? (() => {});
    this.#ttl = options.ttl ?? 10;
    const bin = debianPostgresBin();
    if (!bin) throw new Error('no Debian PostgreSQL server binaries (apt-get install -y postgresql)');
    this.#bin = bin;
    // /tmp, not the checkout: the postgres user must reach it.
    this.workDir = mkdtempSync('/tmp/belfry-ha-');
    if (this.#asRoot) {
      const { uid, gid } = postgresUser();
      chownSync(this.workDir, uid, gid);
    }
  }

  /** A URL through HAProxy: always the current primary (Patroni's /primary check). */
  get haproxyUrl(): string {
    return `postgres://${this.superuser.user}:${this.superuser.password}@127.0.0.1:${this.haproxyPort}/postgres`;
  }

  /** A multi-host URL naming all three nodes; Belfry connects to the one that is writable. */
  get multiHostUrl(): string {
    const hosts = this.nodes.map((node) => `127.0.0.1:${node.pgPort}`).join(',');
    return `postgres://${this.superuser.user}:${this.superuser.password}@${hosts}/postgres?target_session_attrs=read-write`;
  }

  nodeUrl(node: PatroniNode): string {
    return `postgres://${this.superuser.user}:${this.superuser.password}@127.0.0.1:${node.pgPort}/postgres`;
  }

  async start(): Promise<void> {
    for (const tool of ['etcd', 'patroni', 'haproxy'])
      if (!which(tool)) throw new Error(`${tool} is missing`);
    const ports = await freePorts(9);
    this.#etcdPort = ports[0]!;
    this.#etcdPeerPort = ports[1]!;
    this.haproxyPort = ports[2]!;
    for (let i = 0; i < 3; i += 1) {
      const name = `node${i + 1}`;
      this.nodes.push({
        name,
        pgPort: ports[3 + i]!,
        restPort: ports[6 + i]!,
        dataDir: join(this.workDir, name, 'data'),
        agent: undefined,
      });
    }
    await this.#startEtcd();
    this.#writeConfigs();
    // The first node bootstraps (initdb); the others then clone it with pg_basebackup.
    this.#startAgent(this.nodes[0]!);
    await this.waitFor(async () => (await this.primary()) === 'node1', 60_000, 'node1 to bootstrap');
    this.#startAgent(this.nodes[1]!);
    this.#startAgent(this.nodes[2]!);
    await this.waitFor(async () => (await this.streamingStandbys()) === 2, 90_000, 'two streaming standbys');
    if (this.options.synchronous)
      await this.waitFor(
        async () => (await this.syncStandby()) !== undefined,
        30_000,
        'a synchronous standby',
      );
    this.#startHaproxy();
    // HAProxy starts with every server up until its checks say otherwise: wait until a run of
    // connections all reach the primary (the standbys are marked down by then).
    let inARow = 0;
    await this.waitFor(
      async () => {
        inARow = (await this.#canQuery(this.haproxyUrl)) ? inARow + 1 : 0;
        return inARow >= 8;
      },
      30_000,
      'HAProxy to route to the primary only',
    );
    this.#log(
      `Patroni cluster up (${this.options.synchronous ? 'synchronous' : 'asynchronous'}): primary ${await this.primary()}, HAProxy :${this.haproxyPort}`,
    );
  }

  async stop(options: { keep?: boolean } = {}): Promise<void> {
    for (const node of this.nodes) this.#killAgent(node);
    for (const node of this.nodes) this.#killPostmaster(node);
    for (const child of [this.#haproxy, this.#etcd]) if (child?.pid) killGroup(child.pid, 'SIGKILL');
    await sleep(200);
    if (!options.keep) rmSync(this.workDir, { recursive: true, force: true });
  }

  /** The cluster's members as Patroni sees them (any agent's REST API answers for all). */
  async members(): Promise<{ name: string; role: string; state: string; lag?: number | string }[]> {
    for (const node of this.nodes) {
      try {
        const response = await fetch(`http://127.0.0.1:${node.restPort}/cluster`, {
          signal: AbortSignal.timeout(1_000),
        });
        if (!response.ok) continue;
        const body = (await response.json()) as { members?: { name: string; role: string; state: string }[] };
        return body.members ?? [];
      } catch {
        // this agent is down: ask the next
      }
    }
    return [];
  }

  async primary(): Promise<string | undefined> {
    const leader = (await this.members()).find((m) => m.role === 'leader' && m.state === 'running');
    return leader?.name;
  }

  async syncStandby(): Promise<string | undefined> {
    return (await this.members()).find((m) => m.role === 'sync_standby' && isStandbyUp(m.state))?.name;
  }

  async streamingStandbys(): Promise<number> {
    return (await this.members()).filter((m) => m.role !== 'leader' && isStandbyUp(m.state)).length;
  }

  node(name: string): PatroniNode {
    const found = this.nodes.find((node) => node.name === name);
    if (!found) throw new Error(`no node ${name}`);
    return found;
  }

  /** SIGKILL the primary's postmaster only. Returns the node. */
  async killPostmaster(): Promise<PatroniNode> {
    const node = this.node((await this.primary()) ?? 'node1');
    this.#log(`SIGKILL the postmaster of ${node.name} (primary)`);
    this.#killPostmaster(node);
    return node;
  }

  /** SIGKILL the primary's postmaster and its Patroni agent. Returns the node (restart it with restartAgent). */
  async killNode(): Promise<PatroniNode> {
    const node = this.node((await this.primary()) ?? 'node1');
    this.#log(`SIGKILL ${node.name} (primary): its Patroni agent and its postmaster`);
    this.#killAgent(node);
    this.#killPostmaster(node);
    return node;
  }

  /**
   * Freezes (SIGSTOP) the primary's WAL senders, so its latest commits reach no standby (not even a
   * socket buffer, which a frozen receiver would still read on waking): the lag asynchronous
   * replication risks, made certain. With synchronous replication the commits wait instead. Returns
   * the function that sends the frozen senders a signal (SIGKILL once their node is killed).
   */
  async freezeReplication(): Promise<(signal: NodeJS.Signals) => void> {
    const leader = await this.primary();
    const node = this.node(leader ?? 'node1');
    const postmaster = postmasterPid(node);
    const { stdout } = spawnSync('ps', ['-o', 'pid=,args=', '--ppid', String(postmaster ?? 0)], {
      encoding: 'utf8',
    });
    const pids = stdout
      .split('\n')
      .filter((line) => /walsender/.test(line))
      .map((line) => Number(line.trim().split(/\s+/)[0]));
    this.#log(`SIGSTOP the WAL senders of ${node.name} (${pids.length} processes)`);
    for (const pid of pids) signal(pid, 'SIGSTOP');
    return (name) => {
      for (const pid of pids) signal(pid, name);
    };
  }

  restartAgent(node: PatroniNode): void {
    this.#log(`restarting the Patroni agent of ${node.name}`);
    this.#startAgent(node);
  }

  /** A planned switchover to `candidate` (default: the synchronous standby, else any standby). */
  async switchover(candidate?: string): Promise<{ from: string; to: string }> {
    const leader = await this.primary();
    if (!leader) throw new Error('no primary to switch over from');
    const to =
      candidate ??
      (await this.syncStandby()) ??
      (await this.members()).find((m) => m.role !== 'leader' && isStandbyUp(m.state))?.name;
    if (!to) throw new Error('no standby to switch over to');
    const node = this.node(leader);
    this.#log(`switchover ${leader} → ${to}`);
    const response = await fetch(`http://127.0.0.1:${node.restPort}/switchover`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ leader, candidate: to }),
      signal: AbortSignal.timeout(60_000),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`switchover refused: ${response.status} ${text}`);
    return { from: leader, to };
  }

  async waitFor(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (await check().catch(() => false)) return;
      await sleep(250);
    }
    throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (logs in ${this.workDir})`);
  }

  async #canQuery(url: string): Promise<boolean> {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1_000 });
    client.on('error', () => {});
    try {
      await client.connect();
      const { rows } = await client.query<{ r: boolean }>('SELECT pg_is_in_recovery() AS r');
      return rows[0]?.r === false;
    } catch {
      return false;
    } finally {
      await client.end().catch(() => {});
    }
  }

  async #startEtcd(): Promise<void> {
    const dir = join(this.workDir, 'etcd');
    const client = `http://127.0.0.1:${this.#etcdPort}`;
    const peer = `http://127.0.0.1:${this.#etcdPeerPort}`;
    this.#etcd = this.#spawn(
      'etcd',
      [
        which('etcd')!,
        '--name=ha',
        `--data-dir=${dir}`,
        `--listen-client-urls=${client}`,
        `--advertise-client-urls=${client}`,
        `--listen-peer-urls=${peer}`,
        `--initial-advertise-peer-urls=${peer}`,
        `--initial-cluster=ha=${peer}`,
        '--initial-cluster-state=new',
        '--log-level=warn',
      ],
      false,
    );
    await this.waitFor(
      async () => (await fetch(`${client}/health`, { signal: AbortSignal.timeout(1_000) })).ok,
      30_000,
      'etcd',
    );
  }

  #writeConfigs(): void {
    const ttl = this.#ttl;
    for (const node of this.nodes) {
      const dir = join(this.workDir, node.name);
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      const config = {
        scope: 'belfry-ha',
        name: node.name,
        log: { level: 'WARNING' },
        restapi: {
          listen: `127.0.0.1:${node.restPort}`,
          connect_address: `127.0.0.1:${node.restPort}`,
        },
        etcd3: { hosts: [`127.0.0.1:${this.#etcdPort}`] },
        bootstrap: {
          dcs: {
            ttl,
            loop_wait: 1,
            retry_timeout: Math.floor((ttl - 1) / 2),
            maximum_lag_on_failover: 1048576,
            synchronous_mode: this.options.synchronous,
            synchronous_mode_strict: false,
            postgresql: {
              use_pg_rewind: true,
              use_slots: true,
              parameters: {
                max_connections: 300,
                wal_level: 'replica',
                hot_standby: 'on',
                wal_log_hints: 'on',
                max_wal_senders: 10,
                max_replication_slots: 10,
                wal_keep_size: '256MB',
                // Tests favour speed over durability of the whole machine; replication is what is tested.
                fsync: 'off',
                full_page_writes: 'on',
              },
            },
          },
          initdb: [{ encoding: 'UTF8' }, { locale: 'C' }, 'data-checksums'],
        },
        postgresql: {
          listen: `127.0.0.1:${node.pgPort}`,
          connect_address: `127.0.0.1:${node.pgPort}`,
          data_dir: node.dataDir,
          bin_dir: this.#bin,
          pgpass: join(dir, 'pgpass'),
          authentication: {
            superuser: { username: this.superuser.user, password: this.superuser.password },
            replication: { username: 'replicator', password: 'belfry-ha-rep' },
            rewind: { username: this.superuser.user, password: this.superuser.password },
          },
          parameters: { unix_socket_directories: dir },
          pg_hba: [
            'local all all trust',
            'host replication replicator 127.0.0.1/32 md5',
            'host all all 127.0.0.1/32 md5',
          ],
        },
      };
      // JSON is YAML: no YAML writer needed.
      writeFileSync(join(dir, 'patroni.yml'), JSON.stringify(config, null, 2), { mode: 0o600 });
      if (this.#asRoot) {
        const { uid, gid } = postgresUser();
        chownSync(dir, uid, gid);
        chownSync(join(dir, 'patroni.yml'), uid, gid);
      }
    }
  }

  #startAgent(node: PatroniNode): void {
    const config = join(this.workDir, node.name, 'patroni.yml');
    const command = this.#asRoot
      ? ['runuser', '-u', 'postgres', '--', which('patroni')!, config]
      : [which('patroni')!, config];
    node.agent = this.#spawn(`patroni-${node.name}`, command, true);
  }

  #startHaproxy(): void {
    const lines = [
      'global',
      '  maxconn 1000',
      'defaults',
      '  mode tcp',
      '  timeout connect 2s',
      '  timeout client 30m',
      '  timeout server 30m',
      '  timeout check 1s',
      'listen primary',
      `  bind 127.0.0.1:${this.haproxyPort}`,
      '  option httpchk OPTIONS /primary',
      '  http-check expect status 200',
      // A node that stops being the primary is marked down within a second and its sessions cut, so no
      // client keeps writing through it (it would be refused anyway: a standby is read-only).
      '  default-server inter 500ms fall 2 rise 1 on-marked-down shutdown-sessions',
      ...this.nodes.map(
        (node) => `  server ${node.name} 127.0.0.1:${node.pgPort} maxconn 500 check port ${node.restPort}`,
      ),
    ];
    const file = join(this.workDir, 'haproxy.cfg');
    writeFileSync(file, `${lines.join('\n')}\n`);
    this.#haproxy = this.#spawn('haproxy', [which('haproxy')!, '-db', '-f', file], false);
  }

  #spawn(name: string, command: string[], asPostgres: boolean): ChildProcess {
    const out = openSync(join(this.workDir, `${name}.log`), 'a');
    const child = spawn(command[0]!, command.slice(1), {
      cwd: this.workDir,
      detached: true,
      stdio: ['ignore', out, out],
      env: { ...process.env, ...(asPostgres ? { HOME: this.workDir } : {}) },
    });
    child.unref();
    return child;
  }

  #killAgent(node: PatroniNode): void {
    if (node.agent?.pid && node.agent.exitCode === null) killGroup(node.agent.pid, 'SIGKILL');
    node.agent = undefined;
  }

  #killPostmaster(node: PatroniNode): void {
    const pid = postmasterPid(node);
    if (pid) signal(pid, 'SIGKILL');
  }
}

function postmasterPid(node: PatroniNode): number | undefined {
  const pidFile = join(node.dataDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return undefined;
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  return Number.isInteger(pid) && pid > 1 ? pid : undefined;
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // already gone
  }
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

/** Patroni 3.0 reports a replica as `running`; later versions say `streaming`. */
function isStandbyUp(state: string): boolean {
  return state === 'running' || state === 'streaming';
}
