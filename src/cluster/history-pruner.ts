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
 * Within a pass, in this order, each bounded by `batchSize` (what may go, and why that is safe, is in
 * store/retention-store.ts):
 *   1. expired fires whose attempts are all terminal, with their attempts (oldest first);
 *   2. completed API one-off triggers;
 *   3. stopped and dead instance rows that nothing references, only once the fires have caught up
 *      (their reference check reads the fires scheduled before the instance stopped, which are few
 *      once step 1 has removed the expired ones, and would otherwise find them still referenced);
 *   4. admin audit entries older than the retention (admin-audit-store.ts), oldest first;
 *   5. service runs (the service_history view) that ended before the cutoff; open runs stay.
 * `more` says a limit was hit: the caller runs the next pass at once instead of waiting its interval,
 * so a backlog drains in bounded transactions without holding locks for long.
 */
import { inTransaction, type Executor } from '../store/executor.js';
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
}

export const DEFAULT_PRUNE_BATCH = 5_000;

export class HistoryPruner {
  constructor(private readonly options: HistoryPrunerOptions) {
    if (!(options.retentionMs > 0))
      throw new Error(`history retention must be positive, got ${options.retentionMs} ms`);
  }

  async pass(epoch: number): Promise<PrunePass> {
    const { options } = this;
    const limit = options.batchSize ?? DEFAULT_PRUNE_BATCH;
    return inTransaction(options.executor, async (tx) => {
      const now = options.now?.();
      const none = {
        deleted: 0,
        more: false,
        fires: 0,
        executions: 0,
        triggers: 0,
        instances: 0,
        adminAudit: 0,
        serviceRuns: 0,
      };
      if (!(await holdsLease(tx, { instanceId: options.instanceId(), epoch })))
        return { leaseHeld: false, ...none };
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
      };
    });
  }
}
