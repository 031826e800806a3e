/**
 * Batches execution outcomes into one statement per flush.
 *
 * At thousands of fires a second, one UPDATE per outcome would be most of the database's work; a flush
 * every few milliseconds writes them together. An outcome is never dropped while this replica's identity
 * lives: a failed flush keeps its outcomes and retries with backoff (the executions stay `running`, which
 * is the truth until then). Once the identity is dead the database refuses them (InstanceFencedError):
 * they resolve as not recorded, since the leader's recovery owns those executions now, and `onFenced`
 * tells the membership to find out at once.
 */
import type { Logger } from 'pino';
import { backoffDelay } from '../time/backoff.js';
import {
  completeExecutionsCounted,
  releaseExecutions,
  type ExecutionOutcome,
} from '../store/execution-store.js';
import { inTransaction, notifyChange, type Executor } from '../store/executor.js';
import { InstanceFencedError } from '../store/instance-store.js';
import type { Clock } from '../time/clock.js';

interface Pending {
  outcome: ExecutionOutcome;
  resolve: (recorded: boolean) => void;
}

export interface CompletionWriterOptions {
  executor: Executor;
  instanceId: () => string;
  clock: Clock;
  logger: Logger;
  maxBatch?: number;
  /**
   * After each written flush; `madeWork` says it created attempts due soon (retries, or the first
   * attempts of continuations), so the acquirer is worth waking without waiting for the NOTIFY.
   */
  onFlushed?: (madeWork: boolean) => void;
  /** A write was refused because this replica's instance is no longer active. */
  onFenced?: (error: InstanceFencedError) => void;
  /** The retry backoff's jitter; default Math.random. */
  random?: () => number;
}

export class CompletionWriter {
  #buffer: Pending[] = [];
  #flushing: Promise<void> | undefined;
  #scheduled = false;
  #failures = 0;
  #abandoned = false;

  constructor(private readonly options: CompletionWriterOptions) {}

  /** Resolves with whether the outcome was recorded (false: the leader had taken the execution away). */
  record(outcome: ExecutionOutcome): Promise<boolean> {
    return new Promise((resolve) => {
      this.#buffer.push({ outcome, resolve });
      this.#schedule();
    });
  }

  /** Resolves when everything recorded so far is written. */
  async flushAll(): Promise<void> {
    while (this.#buffer.length > 0 || this.#flushing) {
      await (this.#flushing ?? this.#flush());
    }
  }

  /**
   * Gives up on what is not written yet (shutdown's deadline passed with the database not answering):
   * those outcomes resolve as not recorded, their executions stay `running` under this instance and the
   * leader's recovery owns them once the replica is gone, and a flush still in flight is not retried.
   */
  abandon(): void {
    this.#abandoned = true;
    for (const pending of this.#buffer.splice(0)) pending.resolve(false);
  }

  get pendingCount(): number {
    return this.#buffer.length;
  }

  /**
   * Hands attempts that never started back to the cluster as pending (see releaseExecutions), waking the
   * peers. Returns the ids handed back; throws InstanceFencedError when `instanceId` is dead.
   */
  async release(params: {
    instanceId: string;
    executionIds: readonly string[];
    note: string;
  }): Promise<string[]> {
    try {
      return await inTransaction(this.options.executor, async (tx) => {
        const released = await releaseExecutions(tx, params);
        if (released.length > 0) await notifyChange(tx, 'pending');
        return released;
      });
    } catch (error) {
      if (error instanceof InstanceFencedError) this.options.onFenced?.(error);
      throw error;
    }
  }

  #schedule(): void {
    if (this.#abandoned) return this.abandon();
    if (this.#scheduled || this.#flushing) return;
    this.#scheduled = true;
    // A macrotask's delay lets the outcomes of jobs that finish together share one statement.
    setImmediate(() => {
      this.#scheduled = false;
      void this.#flush();
    });
  }

  #flush(): Promise<void> {
    if (this.#flushing) return this.#flushing;
    const batch = this.#buffer.splice(0, this.options.maxBatch ?? 1_000);
    if (batch.length === 0) return Promise.resolve();
    this.#flushing = (async () => {
      try {
        const { recorded, continuations } = await completeExecutionsCounted(this.options.executor, {
          instanceId: this.options.instanceId(),
          outcomes: batch.map((pending) => pending.outcome),
        });
        this.#failures = 0;
        for (const pending of batch) pending.resolve(recorded.has(pending.outcome.executionId));
        this.options.onFlushed?.(continuations > 0 || batch.some((p) => p.outcome.retryAfterMs !== null));
      } catch (error) {
        if (error instanceof InstanceFencedError) {
          this.#failures = 0;
          this.options.logger.warn(
            { instanceId: error.instanceId, outcomes: batch.length },
            'outcomes not recorded: this instance was declared dead',
          );
          for (const pending of batch) pending.resolve(false);
          this.options.onFenced?.(error);
        } else {
          this.#failures += 1;
          const delay = backoffDelay(
            { attempt: this.#failures, initialMs: 200, maxMs: 5_000, jitter: 'equal' },
            this.options.random,
          );
          this.options.logger.warn(
            { err: error, outcomes: batch.length, retryInMs: Math.round(delay) },
            'recording outcomes failed',
          );
          if (this.#abandoned) {
            for (const pending of batch) pending.resolve(false);
          } else {
            this.#buffer.unshift(...batch);
            await this.options.clock.sleep(delay);
          }
        }
      } finally {
        this.#flushing = undefined;
      }
      if (this.#buffer.length > 0) this.#schedule();
    })();
    return this.#flushing;
  }
}
