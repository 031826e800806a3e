/**
 * Whether an acquired or claimed attempt may start, and what becomes of one that may not.
 *
 * An attempt starts only when its wait (the fire-ahead window) is over, nobody aborted it, and the
 * identity it was acquired under is known alive at that moment (IdentityGuard: a replica that may have
 * been declared dead asks the database first, and starts nothing if it was). An aborted wait resolves
 * like a finished one, so every path goes through `mayStart`: there is no way around it.
 *
 * An attempt that will not start is released:
 * - at shutdown (ReleaseAbort) it is handed back as pending, due at its scheduled time, so a peer (or this
 *   replica after its restart) runs it on time: what Quartz does with acquired triggers at shutdown;
 * - under a dead identity nothing can be written any more: the leader's recovery re-dispatches it
 *   (`recover: true`) or records it abandoned, as it does all the dead instance's work.
 */
import type { Logger } from 'pino';
import { BelfryError } from '../errors/belfry-error.js';
import type { IdentityGuard } from '../cluster/instance-identity.js';
import type { Clock } from '../time/clock.js';
import type { CompletionWriter } from './completion-writer.js';
import type { ExecutionEvent, SchedulerEventBus } from '../events/scheduler-events.js';

/** Stops an attempt that has not started, to be handed back as pending (the replica is stopping). */
export class ReleaseAbort extends BelfryError {
  constructor(message = 'replica stopping') {
    super('BELFRY_ERR_REPLICA_STOPPING', message);
  }
}

export interface StartGateOptions {
  identity: IdentityGuard;
  completions: Pick<CompletionWriter, 'release'>;
  events: SchedulerEventBus;
  clock: Clock;
  logger: Logger;
}

export class StartGate {
  constructor(private readonly options: StartGateOptions) {}

  /** Waits until `notBeforeMono` (if any), then says whether the attempt may start (see `mayStart`). */
  async waitToStart(
    notBeforeMono: number | undefined,
    claimedAs: string,
    signal: AbortSignal,
  ): Promise<boolean> {
    const { clock } = this.options;
    const waitMs = notBeforeMono === undefined ? 0 : notBeforeMono - clock.monotonicMs();
    if (waitMs > 0) await clock.sleep(waitMs, signal);
    return this.mayStart(claimedAs, signal);
  }

  /** Synchronous: may it start this instant? (false also when not known yet) */
  aliveNow(claimedAs: string, signal: AbortSignal): boolean {
    return !signal.aborted && this.options.identity.verdict(claimedAs) === 'alive';
  }

  /** True when the attempt may start now: not aborted, and its identity known alive (waits to know). */
  async mayStart(claimedAs: string, signal: AbortSignal): Promise<boolean> {
    if (signal.aborted) return false;
    const verdict = this.options.identity.verdict(claimedAs);
    if (verdict !== 'unknown') return verdict === 'alive';
    return (await this.options.identity.settle(claimedAs, signal)) === 'alive' && !signal.aborted;
  }

  /** An attempt that will not start: handed back at shutdown, otherwise left to the leader's recovery. */
  async release(event: ExecutionEvent, signal: AbortSignal): Promise<void> {
    const { logger, events, completions } = this.options;
    const { executionId, instanceId } = event;
    const reason = signal.reason instanceof Error ? signal.reason.message : 'instance declared dead';
    let handedBack = false;
    if (signal.reason instanceof ReleaseAbort) {
      try {
        const note = `handed back before it started: instance ${instanceId} was stopping`;
        const released = await completions.release({ instanceId, executionIds: [executionId], note });
        handedBack = released.length > 0;
      } catch (error) {
        logger.warn({ err: error, executionId }, 'could not hand back; left to recovery');
      }
    }
    logger.info(
      { executionId, job: event.job, reason, handedBack },
      handedBack ? 'execution handed back before it started' : 'execution not started; left to recovery',
    );
    events.emit('execution:released', { ...event, reason, handedBack });
  }
}
