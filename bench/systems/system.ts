/**
 * What a workload needs from a system under test, so that every workload (bench/workloads.ts) is written
 * once and runs the same way against Belfry, graphile-worker and pg-boss, in each settings column.
 *
 * A driver starts the system's worker processes on a fresh database and offers the few operations the
 * workloads use: enqueue many jobs in one transaction (due now or at an instant), add one job the way an
 * application would, and count the jobs of a group the database records as finished. The processes'
 * handlers record when they started (bench/belfry-replica.ts, bench/peer-worker.ts); the workloads read
 * those samples over IPC.
 */
import type { BenchChild } from '../support/children.js';
import type { BenchServer } from '../support/postgres.js';

export type SystemName = 'belfry' | 'graphile-worker' | 'pg-boss';

/** The two columns every row shows per system; defaults first. */
export type Column = 'defaults' | 'tuned';
export const COLUMNS: readonly Column[] = ['defaults', 'tuned'];

/**
 * What each job carries. `g` names the workload the job belongs to (its samples are kept per group);
 * `dueAt` is when the job was meant to start (wall ms) and `addedAt` when the orchestrator asked for it.
 */
export interface JobPayload {
  g: string;
  dueAt?: number;
  addedAt?: number;
}

export interface RunningSystem {
  /** The database the system runs in (its own pg_stat_database counters). */
  readonly database: string;
  readonly processes: readonly BenchChild[];
  /** Inserts jobs in one transaction, due at `at` (null: now); resolves once they are committed. */
  enqueue(group: string, payloads: readonly JobPayload[], at: Date | null): Promise<void>;
  /** Adds one job due now, through the system's own one-job API. */
  addOne(payload: JobPayload): Promise<void>;
  /** Jobs of `group` the database records as finished (of `enqueued` put in). */
  finished(group: string, enqueued: number): Promise<number>;
  /** The system's own record of what became of a group's jobs, when it keeps one (Belfry's history). */
  audit?(group: string): Promise<Record<string, unknown>>;
  /** Takes the group's jobs that have not started out of the queue (after a workload's time limit). */
  discard(group: string): Promise<void>;
  /** Stops the processes and closes the orchestrator's connections. */
  stop(): Promise<void>;
}

export interface SystemContext {
  server: BenchServer;
  processes: number;
  logDir: string;
  log: (message: string) => void;
}

export interface SystemDriver {
  readonly system: SystemName;
  /** The settings of a column, as printed under the table (library option names and values). */
  settings(column: Column): Record<string, unknown>;
  /** Creates a fresh database, migrates it, starts the processes and waits until they are ready. */
  start(ctx: SystemContext, column: Column): Promise<RunningSystem>;
}
