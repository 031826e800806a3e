/**
 * Leader-only: declares instances dead and recovers their running executions (architecture invariant 4).
 *
 * Runs only while this replica leads, and every pass is fenced: it first checks, in the same
 * transaction, that the lease is still ours under the same epoch (see leader-elector.ts). A pass that
 * finds the lease gone reports it, and the scheduler steps down.
 */
import { inTransaction, notifyChange, type Executor } from '../store/executor.js';
import { holdsLease } from '../store/leader-store.js';
import { markDeadInstances, recoverOrphanedExecutions, type DeadInstance, type RecoveredExecution } from '../store/recovery-store.js';

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

export async function runRecoveryPass(options: ExecutionRecovererOptions, epoch: number): Promise<RecoveryPass> {
  return inTransaction(options.executor, async (tx) => {
    const selfId = options.instanceId();
    if (!(await holdsLease(tx, { instanceId: selfId, epoch }))) return { leaseHeld: false, dead: [], recovered: [] };
    const dead = await markDeadInstances(tx, {
      selfId,
      lockNamespace: options.lockNamespace,
      sessionGraceMs: options.sessionGraceMs,
      deadAfterMs: options.deadAfterMs,
    });
    const recovered = await recoverOrphanedExecutions(tx, { epoch, limit: options.batchSize ?? 500 });
    if (recovered.some((execution) => execution.nextExecutionId !== null)) await notifyChange(tx, 'pending');
    return { leaseHeld: true, dead, recovered };
  });
}
