/**
 * `/readyz` answers from a probe that is cheap and safe to hammer:
 *
 * - one result serves every request for `cacheMs` (1 s), and concurrent requests share the one check
 *   in flight, so a flood costs at most one check per second;
 * - the check's query (are the migrations current?) runs on the probe's own pool of one connection with
 *   a short statement timeout, never on the scheduler's pool that check-ins and jobs use;
 * - the migration files are read once, when the probe is built, not per request;
 * - a check that takes longer than `timeoutMs` answers "not ready, database unreachable".
 */
import pg from 'pg';
import type { SchedulerHealth } from '../scheduler-options.js';
import { loadMigrations, migrationsCurrent, type Migration } from '../store/migrator.js';
import { connectionOptions } from '../store/primary-connection.js';
import type { Clock } from '../time/clock.js';

export interface ProbeTarget {
  readonly instanceId: string;
  readonly isLeader: boolean;
  readonly database: { readonly connectionString: string; readonly schema: string };
  health(probe?: { migrationsCurrent?: () => Promise<boolean> }): Promise<SchedulerHealth>;
}

export interface ReadinessProbeOptions {
  scheduler: ProbeTarget;
  clock: Clock;
  cacheMs?: number;
  timeoutMs?: number;
}

export class ReadinessProbe {
  readonly #scheduler: ProbeTarget;
  readonly #clock: Clock;
  readonly #cacheMs: number;
  readonly #timeoutMs: number;
  readonly #migrations: Migration[];
  #pool: pg.Pool | undefined;
  #cached: { health: SchedulerHealth; at: number } | undefined;
  #inFlight: Promise<SchedulerHealth> | undefined;
  #closed = false;

  constructor(options: ReadinessProbeOptions) {
    this.#scheduler = options.scheduler;
    this.#clock = options.clock;
    this.#cacheMs = options.cacheMs ?? 1_000;
    this.#timeoutMs = options.timeoutMs ?? 2_000;
    this.#migrations = loadMigrations();
  }

  check(): Promise<SchedulerHealth> {
    const cached = this.#cached;
    if (cached && this.#clock.monotonicMs() - cached.at < this.#cacheMs)
      return Promise.resolve(cached.health);
    this.#inFlight ??= this.#run().finally(() => {
      this.#inFlight = undefined;
    });
    return this.#inFlight;
  }

  /** Bounded by `timeoutMs` even when the database is unreachable (a connect in flight times out). */
  async close(): Promise<void> {
    this.#closed = true;
    const pool = this.#pool;
    this.#pool = undefined;
    await pool?.end().catch(() => {});
  }

  async #run(): Promise<SchedulerHealth> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<SchedulerHealth>((resolve) => {
      timer = setTimeout(() => resolve(this.#unreachable()), this.#timeoutMs);
    });
    try {
      const health = await Promise.race([
        this.#scheduler.health({ migrationsCurrent: () => this.#migrationsCurrent() }),
        timedOut,
      ]);
      this.#cached = { health, at: this.#clock.monotonicMs() };
      return health;
    } finally {
      clearTimeout(timer);
    }
  }

  #migrationsCurrent(): Promise<boolean> {
    if (this.#closed) return Promise.reject(new Error('the readiness probe is closed'));
    const { connectionString, schema } = this.#scheduler.database;
    this.#pool ??= this.#openPool(connectionString);
    return migrationsCurrent(this.#pool, schema, this.#migrations);
  }

  /**
   * One connection, every wait bounded by `timeoutMs` (connecting too: a probe must answer quickly, and
   * closing the probe must not wait out a long connect to an unreachable database).
   */
  #openPool(connectionString: string): pg.Pool {
    const pool = new pg.Pool({
      // Multi-host URLs reach the primary only: with no primary the probe answers not ready.
      ...connectionOptions(connectionString),
      max: 1,
      statement_timeout: this.#timeoutMs,
      connectionTimeoutMillis: this.#timeoutMs,
      // Longer than a kubelet's probe period (10 s), so periodic probes reuse the connection.
      idleTimeoutMillis: 30_000,
      application_name: 'belfry-probe',
    });
    // An idle probe connection that the server closed is replaced at the next check.
    pool.on('error', () => {});
    pool.on('connect', (client) => client.on('error', () => {}));
    return pool;
  }

  #unreachable(): SchedulerHealth {
    return {
      alive: true,
      ready: false,
      databaseReachable: false,
      migrationsCurrent: false,
      shuttingDown: false,
      isLeader: this.#scheduler.isLeader,
      instanceId: this.#scheduler.instanceId,
    };
  }
}
