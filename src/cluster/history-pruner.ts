/**
 * Leader-only: enforces history retention (BELFRY_HISTORY_RETENTION, default 90 days), for the execution
 * history and the admin audit trail alike (one setting: the audit answers "who changed this trigger",
 * which is worth as long as the history of what the trigger then did).
 *
 * A pass is one transaction, fenced like every leader-only write: it first checks, in the same
 * transaction, that the lease is still ours under `epoch` (leader-store.ts `holdsLease`, which also
 * holds the lease row in share mode so a takeover waits for the pass to end). A pass that finds the
 * lease gone deletes nothing and reports it, and the scheduler steps down.
 *
 * A pass first keeps the weekly partitions of the history (store/partition-store.ts), in a fenced
 * transaction of its own, committed before the row deletes so that the locks its DDL takes are held
 * for as short a time as possible:
 *   a. the weeks from the current one (database time) through two weeks ahead get their partitions; a
 *      week whose rows already went to the default partition cannot, is logged once and left there;
 *   b. retention is a partition drop: each week that ended before the cutoff and holds no unfinished
 *      attempt loses its two partitions (fires and executions) at once, oldest first, a few per pass.
 * Then, in one fenced transaction, in this order, each bounded by `batchSize` (what may go, and why that
 * is safe, is in store/retention-store.ts):
 *   1. expired fires whose attempts are all terminal, with their attempts (oldest first): what the
 *      drops left, i.e. weeks kept for an unfinished attempt, and the default partition;
 *   2. completed API one-off triggers;
 *   3. stopped and dead instance rows that nothing references, only once the fires have caught up
 *      (their reference check reads the fires scheduled before the instance stopped, which are few
 *      once step 1 has removed the expired ones, and would otherwise find them still referenced);
 *   4. admin audit entries older than the retention (admin-audit-store.ts), oldest first;
 *   5. service runs (the service_history view) that ended before the cutoff; open runs stay.
 * `more` says a limit was hit: the caller runs the next pass at once instead of waiting its interval,
 * so a backlog drains in bounded transactions without holding locks for long.
 */
import type { Logger } from 'pino';
import { inTransaction, type Executor } from '../store/executor.js';
import {
  dropExpiredHistoryWeeks,
  ensureHistoryPartitions,
  type DroppedWeeks,
  type EnsuredPartitions,
} from '../store/partition-store.js';
import { pruneAdminAudit } from '../store/admin-audit-store.js';
import { holdsLease } from '../store/leader-store.js';
import {
  pruneCompletedOneOffTriggers,
  pruneExpiredFires,
  pruneGoneInstances,
  pruneServiceRuns,
} from '../store/retention-store.js';

export interface PrunePass {
  leaseHeld: boolean;
  /** Rows deleted in all: fires + executions + triggers + instances + admin audit entries + service runs. */
  deleted: number;
  /** A batch limit was reached: more is waiting; run the next pass now. */
  more: boolean;
  fires: number;
  executions: number;
  triggers: number;
  instances: number;
  adminAudit: number;
  serviceRuns: number;
  /** Weekly partitions dropped by retention (`fires_pYYYYMMDD`, `executions_pYYYYMMDD`), oldest first. */
  partitionsDropped: string[];
  /** Weekly partitions created ahead (`fires_pYYYYMMDD`, `executions_pYYYYMMDD`). */
  partitionsCreated: string[];
}

export interface HistoryPrunerOptions {
  executor: Executor;
  instanceId: () => string;
  /** BELFRY_HISTORY_RETENTION, in ms. */
  retentionMs: number;
  /** Fires (and separately triggers, instances, admin audit entries, service runs) per pass at most. Default 5,000. */
  batchSize?: number;
  /** A stub for the database's now(), for tests; production leaves it to the database. */
  now?: () => Date;
  /** For what the partition upkeep could not do (a blocked week is logged once). */
  logger?: Logger;
  /** Keep the weeks ahead created (default true; false: new weeks go to the default partition). */
  createPartitions?: boolean;
}

export const DEFAULT_PRUNE_BATCH = 5_000;
const NOTHING_ENSURED: EnsuredPartitions = { created: [], blocked: [], failed: [] };
/** Weeks kept created ahead of the current one. */
export const PARTITION_WEEKS_AHEAD = 2;
/** Expired weeks dropped per pass at most (a backlog drains over passes, each holding its locks briefly). */
export const PARTITION_DROPS_PER_PASS = 4;

const NOTHING_PRUNED: Omit<PrunePass, 'leaseHeld'> = {
  deleted: 0,
  more: false,
  fires: 0,
  executions: 0,
  triggers: 0,
  instances: 0,
  adminAudit: 0,
  serviceRuns: 0,
  partitionsDropped: [],
  partitionsCreated: [],
};

export class HistoryPruner {
  /** Weeks already logged as blocked (their rows are in the default partition): logged once each. */
  readonly #blockedLogged = new Set<string>();

  constructor(private readonly options: HistoryPrunerOptions) {
    if (!(options.retentionMs > 0))
      throw new Error(`history retention must be positive, got ${options.retentionMs} ms`);
  }

  async pass(epoch: number): Promise<PrunePass> {
    const partitions = await this.#partitionPass(epoch);
    if (partitions === null) return { leaseHeld: false, ...NOTHING_PRUNED };
    const rows = await this.#rowPass(epoch);
    if (!rows.leaseHeld) return rows;
    const { ensured, dropped } = partitions;
    return {
      ...rows,
      more: rows.more || dropped.more,
      partitionsDropped: dropped.dropped,
      partitionsCreated: ensured.created.flatMap((week) => [
        `fires_p${week.suffix}`,
        `executions_p${week.suffix}`,
      ]),
    };
  }

  /** The partition upkeep, fenced; null when the lease is gone. */
  async #partitionPass(epoch: number): Promise<{ ensured: EnsuredPartitions; dropped: DroppedWeeks } | null> {
    const { options } = this;
    const result = await inTransaction(options.executor, async (tx) => {
      if (!(await holdsLease(tx, { instanceId: options.instanceId(), epoch }))) return null;
      const now = options.now?.();
      const ensured =
        options.createPartitions === false
          ? NOTHING_ENSURED
          : await ensureHistoryPartitions(tx, { weeksAhead: PARTITION_WEEKS_AHEAD, now });
      const dropped = await dropExpiredHistoryWeeks(tx, {
        retentionMs: options.retentionMs,
        limit: PARTITION_DROPS_PER_PASS,
        now,
      });
      return { ensured, dropped };
    });
    if (result) this.#logPartitionTrouble(result);
    return result;
  }

  #logPartitionTrouble({ ensured, dropped }: { ensured: EnsuredPartitions; dropped: DroppedWeeks }): void {
    const logger = this.options.logger;
    for (const week of ensured.blocked) {
      if (this.#blockedLogged.has(week.suffix)) continue;
      this.#blockedLogged.add(week.suffix);
      logger?.warn(
        { week: week.start.toISOString() },
        'history week not partitioned: its rows are already in the default partition (retention deletes them row by row)',
      );
    }
    for (const { week, error } of [...ensured.failed, ...dropped.failed])
      logger?.warn(
        { err: error, week: week.start.toISOString() },
        'history partition upkeep failed; next pass retries',
      );
  }

  async #rowPass(epoch: number): Promise<PrunePass> {
    const { options } = this;
    const limit = options.batchSize ?? DEFAULT_PRUNE_BATCH;
    return inTransaction(options.executor, async (tx) => {
      const now = options.now?.();
      if (!(await holdsLease(tx, { instanceId: options.instanceId(), epoch })))
        return { leaseHeld: false, ...NOTHING_PRUNED };
      const params = { retentionMs: options.retentionMs, limit, now };
      const { fires, executions } = await pruneExpiredFires(tx, params);
      const triggers = await pruneCompletedOneOffTriggers(tx, params);
      const firesCaughtUp = fires < limit;
      const instances = firesCaughtUp ? await pruneGoneInstances(tx, params) : 0;
      const adminAudit = await pruneAdminAudit(tx, params);
      const serviceRuns = await pruneServiceRuns(tx, params);
      return {
        leaseHeld: true,
        deleted: fires + executions + triggers + instances + adminAudit + serviceRuns,
        more:
          !firesCaughtUp ||
          triggers >= limit ||
          instances >= limit ||
          adminAudit >= limit ||
          serviceRuns >= limit,
        fires,
        executions,
        triggers,
        instances,
        adminAudit,
        serviceRuns,
        partitionsDropped: [],
        partitionsCreated: [],
      };
    });
  }
}
