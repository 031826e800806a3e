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
import type { SchedulerHealth } from '../scheduler-options.js';
import { openDatabase, type BelfryDatabase } from '../store/database.js';
import { loadMigrations, migrationsCurrent, type Migration } from '../store/migrator.js';
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
  #database: BelfryDatabase | undefined;
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

  async close(): Promise<void> {
    this.#closed = true;
    await this.#inFlight?.catch(() => {});
    await this.#database?.destroy();
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
    this.#database ??= openDatabase({
      connectionString: this.#scheduler.database.connectionString,
      schema: this.#scheduler.database.schema,
      maxConnections: 1,
      statementTimeoutMs: this.#timeoutMs,
      applicationName: 'belfry-probe',
      // An idle probe connection that the server closed is replaced at the next check.
      onIdleError: () => {},
    });
    return migrationsCurrent(this.#database.pool, this.#database.schema, this.#migrations);
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
