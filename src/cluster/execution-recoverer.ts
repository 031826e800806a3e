/**
 * Leader-only: declares instances dead and recovers their running executions (architecture invariant 4).
 *
 * Runs only while this replica leads, and every pass is fenced: it first checks, in the same
 * transaction, that the lease is still ours under the same epoch (see leader-elector.ts). A pass that
 * finds the lease gone reports it, and the scheduler steps down.
 *
 * A crash is seen through the session lock: when a replica's PostgreSQL session ends, its advisory lock
 * is released. The recoverer confirms a loss only when the lock stays free across passes for
 * `sessionGraceMs` (database time) and the replica has not checked in meanwhile, so a replica that is merely reconnecting (a database restart, a
 * killed connection) keeps its work, while a SIGKILLed one is declared dead within about
 * sessionGrace + one pass.
 *
 * Declaring dead and recovering happen in one transaction, and the declaration waits for any guarded
 * write the replica has in flight (it holds its instance row FOR SHARE; see instance-store.ts). So every
 * claim or acquisition that committed under the dead id is visible to the recovery right after it, and
 * none can commit later: recovery never races work that the dead replica is still taking on.
 */
import { inTransaction, notifyChange, type Executor } from '../store/executor.js';
import { holdsLease } from '../store/leader-store.js';
import { classifyDatabaseError } from '../store/errors.js';
import {
  instancesWithoutSession,
  markDeadInstances,
  recoverOrphanedExecutions,
  type DeadInstance,
  type RecoveredExecution,
} from '../store/recovery-store.js';

export interface RecoveryPass {
  leaseHeld: boolean;
  dead: DeadInstance[];
  recovered: RecoveredExecution[];
}

export interface ExecutionRecovererOptions {
  executor: Executor;
  instanceId: () => string;
  lockNamespace: number;
  sessionGraceMs: number;
  deadAfterMs: number;
  batchSize?: number;
}

export class ExecutionRecoverer {
  /** Instance id → database time at which this leader first saw its session missing. */
  readonly #sessionMissingSince = new Map<string, number>();
  /**
   * When this replica last got the database back after losing it (database time): no replica could
   * check in while the database was gone (a failover, a restart), so silence is counted from here, and
   * a database outage is not read as every replica's death (the Patroni failover test, issue 17). A
   * replica that never lost the database (it sees a peer stall) counts silence as usual.
   */
  #silentSince: Date | undefined;
  #regained = false;

  constructor(private readonly options: ExecutionRecovererOptions) {}

  /** Forget observations (on a change of leadership: a new term observes afresh). */
  reset(): void {
    this.#sessionMissingSince.clear();
  }

  /**
   * This replica reached the database again after failing to (its check-ins failed meanwhile). Read by
   * the next pass if it comes before the replica's next check-in (`databaseSteady`): after a failover
   * the replica that wins the lease does so in the very check-in that found the database back, and a
   * regain older than that says nothing about peers that stop checking in later.
   */
  databaseRegained(): void {
    this.#regained = true;
  }

  /** A check-in succeeded with no failure before it: a regain not yet read is stale. */
  databaseSteady(): void {
    this.#regained = false;
  }

  async pass(epoch: number): Promise<RecoveryPass> {
    try {
      return await this.#pass(epoch);
    } catch (error) {
      // The database is gone (not a lock wait or a timeout behind a stalled peer, which must not
      // postpone that peer's death): the next pass that succeeds counts silence from then.
      if (classifyDatabaseError(error) === 'connection') this.#regained = true;
      throw error;
    }
  }

  #pass(epoch: number): Promise<RecoveryPass> {
    const { options } = this;
    return inTransaction(options.executor, async (tx) => {
      const selfId = options.instanceId();
      if (!(await holdsLease(tx, { instanceId: selfId, epoch })))
        return { leaseHeld: false, dead: [], recovered: [] };
      const missing = await instancesWithoutSession(tx, { selfId, lockNamespace: options.lockNamespace });
      const now = missing.dbNow.getTime();
      const ids = new Set(missing.instances.map((instance) => instance.id));
      for (const id of this.#sessionMissingSince.keys())
        if (!ids.has(id)) this.#sessionMissingSince.delete(id);
      for (const instance of missing.instances) {
        const since = this.#sessionMissingSince.get(instance.id);
        // A replica that checked in after we first saw its lock free is alive, only slow to get its session
        // back (a database restart): watch it afresh rather than count it dead.
        if (since === undefined || instance.lastCheckinAt.getTime() > since)
          this.#sessionMissingSince.set(instance.id, now);
      }
      const sessionLost = [...ids]
        .map((id) => ({ id, since: this.#sessionMissingSince.get(id)! }))
        .filter((lost) => now - lost.since >= options.sessionGraceMs)
        .map((lost) => ({ id: lost.id, since: new Date(lost.since) }));
      if (this.#regained) {
        this.#silentSince = missing.dbNow;
        this.#regained = false;
      }
      const dead = await markDeadInstances(tx, {
        selfId,
        sessionLost,
        deadAfterMs: options.deadAfterMs,
        silentSince: this.#silentSince,
      });
      for (const instance of dead) this.#sessionMissingSince.delete(instance.id);
      const recovered = await recoverOrphanedExecutions(tx, { epoch, limit: options.batchSize ?? 500 });
      if (recovered.some((execution) => execution.nextExecutionId !== null))
        await notifyChange(tx, 'pending');
      return { leaseHeld: true, dead, recovered };
    });
  }
}
