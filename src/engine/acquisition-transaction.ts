/**
 * One acquisition, in one transaction: lock a batch of due triggers (`FOR UPDATE SKIP LOCKED`, under this
 * replica's live registration), plan them, hold back the fires that concurrency `forbid` does not allow,
 * record the fires and advance the triggers, and turn the fires this replica runs into dispatches.
 *
 * Recording the fires in the transaction that advances their triggers, under the row lock, is what makes
 * a fire happen once (architecture invariant 1); the planner is the one owner of "when next" (invariant
 * 6). What the outside world sees (events, span ends, `acquisition:finished`) happens after the commit.
 */
import type { Logger } from 'pino';
import type { SchedulerEventBus } from '../events/scheduler-events.js';
import type { ExecutionTracing } from '../observability/execution-tracing.js';
import { inTransaction, type Executor } from '../store/executor.js';
import {
  lockBusyJobs,
  lockDueTriggers,
  recordFires,
  type DueTrigger,
  type FireToRecord,
} from '../store/fire-store.js';
import type { Clock } from '../time/clock.js';
import { planBatch } from './batch-planner.js';
import type { Dispatch } from './executor-pool.js';
import type { PlanLimits } from './fire-planner.js';
import { FireRecording } from './fire-recording.js';
import type { ScheduleCache } from './schedule-cache.js';

export interface AcquisitionOptions {
  executor: Executor;
  events: SchedulerEventBus;
  logger: Logger;
  schedules: ScheduleCache;
  tracing: ExecutionTracing;
  /** Times the transaction, and dates each dispatch's start against the lock's database time. */
  clock: Clock;
  planLimits: PlanLimits;
  /** Acquire triggers due within this many ms. */
  lookaheadMs: number;
  /** See TriggerAcquirerOptions.syncCalendars. */
  syncCalendars?: ((stamp: string) => Promise<void>) | undefined;
  onAcquired?: ((batchSize: number) => void) | undefined;
}

export interface AcquiredBatch {
  dispatches: Dispatch[];
  /** Due work remains: the batch was full, or a trigger's next fire is already due. */
  more: boolean;
  /** How many triggers the lock took. */
  locked: number;
  /** With nothing locked, the lock's answer of how long until anything is due (null: nothing is); else 0 or null. */
  delayMs: number | null;
}

export async function acquireBatch(
  options: AcquisitionOptions,
  params: { instanceId: string; jobs: readonly string[]; limit: number },
): Promise<AcquiredBatch> {
  const { instanceId, jobs, limit } = params;
  const { clock } = options;
  const recording = new FireRecording(options.tracing, options.events);
  let batchSize = 0;
  const startedMs = clock.monotonicMs();
  return inTransaction(options.executor, async (tx) => {
    const { triggers: due, idleDelayMs } = await lockDueTriggers(tx, {
      instanceId,
      jobs,
      limit,
      lookaheadMs: options.lookaheadMs,
    });
    const lockedAtMono = clock.monotonicMs();
    batchSize = due.length;
    if (due.length === 0) return { dispatches: [], more: false, locked: 0, delayMs: idleDelayMs ?? null };
    options.onAcquired?.(due.length);

    const { advances, fires, nextDue } = await planBatch(due, {
      tx,
      schedules: options.schedules,
      planLimits: options.planLimits,
      logger: options.logger,
      recording,
      syncCalendars: options.syncCalendars,
    });
    await skipFiresOfBusyForbidJobs(tx, due, fires);
    const recorded = await recordFires(tx, { instanceId, advances, fires });
    const dispatches = recording.recorded({ recorded, fires, due, instanceId, lockedAtMono });
    const more = due.length === limit || nextDue;
    return { dispatches, more, locked: due.length, delayMs: more ? 0 : null };
  }).then(
    (result) => {
      options.events.emit('acquisition:finished', { batchSize, durationMs: clock.monotonicMs() - startedMs });
      recording.committed();
      return result;
    },
    (error) => {
      recording.rolledBack(error);
      throw error;
    },
  );
}

/**
 * concurrency: forbid — one execution of the job at a time, cluster-wide. A fire that would run (or wait
 * pending) while its job has an execution still running, or an earlier fire of this batch, is skipped.
 */
async function skipFiresOfBusyForbidJobs(
  tx: Executor,
  due: readonly DueTrigger[],
  fires: FireToRecord[],
): Promise<void> {
  const forbidJobs = [...new Set(due.filter((t) => t.concurrency === 'forbid').map((t) => t.job))].sort();
  if (forbidJobs.length === 0) return;
  const busy = await lockBusyJobs(tx, { jobs: forbidJobs });
  for (const fire of fires) {
    if (!forbidJobs.includes(fire.job) || (fire.status !== 'running' && fire.status !== 'pending')) continue;
    if (busy.has(fire.job)) {
      fire.status = 'skipped';
      fire.error = 'skipped: concurrency forbid and the previous execution is still running';
    } else {
      busy.add(fire.job);
    }
  }
}
