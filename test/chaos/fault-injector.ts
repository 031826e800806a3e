/**
 * The faults of the chaos test, each of which records what it actually did, so the test can assert that
 * every fault really happened (a kill that hit nothing, or a stall shorter than the lease, proves nothing):
 *   - kill: SIGKILL a replica running recoverable work, restart it 2 s later (and wait until it is up);
 *   - stall: SIGSTOP the leader past its lease and past dead-after, then SIGCONT: the leader must declare
 *     the stalled instance dead while it sleeps (the dead-identity case of issue 10, item 3);
 *   - cut: pg_terminate_backend a replica's connections (another replica is tried when one had none);
 *   - restart: stop and restart PostgreSQL.
 */
import { sql } from 'kysely';
import { startEmbeddedPostgres, type EmbeddedServer } from '../../src/dev/embedded-postgres.js';
import { DEFAULT_TIMINGS } from '../../src/scheduler.js';
import { openDatabase, type BelfryDatabase } from '../../src/store/database.js';
import type { ReplicaHandle } from '../support/cluster.js';

export type FaultKind = 'kill' | 'stall' | 'cut' | 'restart';
export const FAULT_KINDS: FaultKind[] = ['kill', 'stall', 'cut', 'restart'];

export interface FaultRecord {
  injected: string[];
  kinds: Set<FaultKind>;
  killedRecoverable: number;
  connectionsKilled: number;
  /** Instances that were stalled, with how long. */
  stalls: { name: string; instanceId: string; ms: number }[];
}

export interface ChaosCluster {
  server: EmbeddedServer;
  database: BelfryDatabase;
  replicas: ReplicaHandle[];
  readonly dataDir: string;
  readonly url: string;
  readonly port: number;
  readonly schema: string;
  start(name: string): ReplicaHandle;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const pick = <T>(list: T[]) => list[Math.floor(Math.random() * list.length)]!;
const alive = (r: ReplicaHandle) => r.child.exitCode === null && r.child.signalCode === null;

/** Longer than the lease and than dead-after, with the leader's recovery pass to spare. */
export const STALL_MIN_MS = DEFAULT_TIMINGS.deadAfterMs + 3 * DEFAULT_TIMINGS.recoveryIntervalMs;

export class FaultInjector {
  readonly record: FaultRecord = {
    injected: [],
    kinds: new Set(),
    killedRecoverable: 0,
    connectionsKilled: 0,
    stalls: [],
  };

  constructor(
    private readonly cluster: ChaosCluster,
    private readonly log: (message: string) => void,
  ) {}

  async inject(kind: FaultKind): Promise<void> {
    if (kind === 'kill') await this.#kill();
    else if (kind === 'stall') await this.#stall();
    else if (kind === 'cut') await this.#cut();
    else await this.#restart();
    this.record.kinds.add(kind);
  }

  #byName(name: string): ReplicaHandle | undefined {
    return this.cluster.replicas.find((r) => r.name === name && alive(r));
  }

  async #kill(): Promise<void> {
    const { cluster, record } = this;
    const { rows: busy } = await sql<{ name: string; n: number }>`
      SELECT i.name, count(*)::int AS n FROM ${sql.table(`${cluster.schema}.executions`)} e
        JOIN ${sql.table(`${cluster.schema}.instances`)} i ON i.id = e.instance_id
       WHERE e.status = 'running' AND e.job_name = 'sleep-recover' AND i.state = 'active'
       GROUP BY i.name`.execute(cluster.database.db);
    const victim = busy.length
      ? (this.#byName(pick(busy).name) ?? pick(cluster.replicas.filter(alive)))
      : pick(cluster.replicas.filter(alive));
    const running = busy.find((b) => b.name === victim.name)?.n ?? 0;
    record.killedRecoverable += running;
    this.log(`SIGKILL ${victim.name} (${running} running recoverable executions)`);
    record.injected.push(`SIGKILL ${victim.name}`);
    victim.child.kill('SIGKILL');
    await victim.exited;
    await sleep(2_000);
    const replacement = cluster.start(victim.name);
    cluster.replicas = cluster.replicas.filter((r) => r !== victim).concat(replacement);
    // The next fault waits until it is up: the library's start() does not wait for the database (only
    // `belfry start` does), so a PostgreSQL restart during its start would fail the harness, not Belfry.
    await replacement.waitFor('started', () => true, 60_000);
  }

  async #stall(): Promise<void> {
    const { cluster, record } = this;
    const { rows } = await sql<{ name: string; id: string }>`
      SELECT i.name, i.id FROM ${sql.table(`${cluster.schema}.leader`)} l
        JOIN ${sql.table(`${cluster.schema}.instances`)} i ON i.id = l.holder
       WHERE l.expires_at > now() AND i.state = 'active'`.execute(cluster.database.db);
    let target = rows[0] && this.#byName(rows[0].name) ? rows[0] : undefined;
    if (!target) {
      // No leader right now (an election is under way): stall any replica, the dead-identity case stands.
      const name = pick(cluster.replicas.filter(alive)).name;
      const { rows: any } = await sql<{ id: string }>`
        SELECT id FROM ${sql.table(`${cluster.schema}.instances`)}
         WHERE name = ${name} AND state = 'active' ORDER BY started_at DESC LIMIT 1`.execute(
        cluster.database.db,
      );
      target = { name, id: any[0]?.id ?? '' };
    }
    const victim = this.#byName(target.name)!;
    const pauseMs = STALL_MIN_MS + Math.floor(Math.random() * 3_000);
    this.log(`SIGSTOP ${rows[0] ? 'leader ' : ''}${target.name} for ${pauseMs} ms`);
    record.injected.push(`SIGSTOP ${target.name} ${pauseMs} ms`);
    victim.child.kill('SIGSTOP');
    await sleep(pauseMs);
    victim.child.kill('SIGCONT');
    record.stalls.push({ name: target.name, instanceId: target.id, ms: pauseMs });
  }

  async #cut(): Promise<void> {
    const { cluster, record } = this;
    // A replica that has just restarted may not hold a connection yet: try the others.
    for (const victim of [...cluster.replicas.filter(alive)].sort(() => Math.random() - 0.5)) {
      const { rows } = await sql<{ n: number }>`
        SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity
         WHERE application_name IN (${`belfry:${victim.name}`}, ${`belfry-session:${victim.name}`})`.execute(
        cluster.database.db,
      );
      this.log(`pg_terminate_backend ${victim.name}: ${rows[0]!.n} connections`);
      record.injected.push(`pg_terminate_backend ${victim.name} (${rows[0]!.n})`);
      record.connectionsKilled += rows[0]!.n;
      if (rows[0]!.n > 0) return;
    }
  }

  async #restart(): Promise<void> {
    const { cluster, record } = this;
    this.log('restarting PostgreSQL');
    record.injected.push('PostgreSQL restart');
    await cluster.database.destroy();
    await cluster.server.stop();
    await sleep(2_000);
    cluster.server = await startEmbeddedPostgres({
      dataDir: cluster.dataDir,
      port: cluster.port,
      persistent: true,
      maxConnections: 200,
      env: process.env,
    });
    cluster.database = openDatabase({
      connectionString: cluster.url,
      schema: cluster.schema,
      maxConnections: 3,
    });
    this.log('PostgreSQL is back');
    await this.#everyReplicaCheckedInSince(new Date());
  }

  /**
   * The next fault waits until every live replica has checked in again, plus one recovery pass: the
   * leader counts a peer's silence only from when it got the database back (a restart is no one's
   * death), so a stall injected while replicas are still reconnecting would be judged on a shorter
   * silence than it lasted, and the dead-identity case it exists for would not arise.
   */
  async #everyReplicaCheckedInSince(since: Date): Promise<void> {
    const { cluster } = this;
    const deadline = Date.now() + 30_000;
    for (;;) {
      const names = cluster.replicas.filter(alive).map((r) => r.name);
      const { rows } = await sql<{ n: number }>`
        SELECT count(DISTINCT name)::int AS n FROM ${sql.table(`${cluster.schema}.instances`)}
         WHERE state = 'active' AND last_checkin_at > ${since} AND name = ANY(${names})`
        .execute(cluster.database.db)
        .catch(() => ({ rows: [{ n: -1 }] }));
      if (rows[0]!.n >= names.length) break;
      if (Date.now() > deadline) {
        this.log(`after the restart, ${rows[0]!.n} of ${names.length} replicas checked in within 30 s`);
        break;
      }
      await sleep(200);
    }
    await sleep(DEFAULT_TIMINGS.recoveryIntervalMs);
  }
}
