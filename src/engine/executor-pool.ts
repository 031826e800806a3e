/**
 * Runs executions on this replica with bounded concurrency.
 *
 * Per execution: validate the data with the job's schema, run `execute(ctx)` with an AbortSignal, abort
 * it at the job's timeout (recorded `timed_out` at once; the slot stays taken until the job's promise
 * settles, so a job that ignores its signal cannot push the replica past its bound), and decide on a
 * retry. Outcomes go to the CompletionWriter.
 *
 * At shutdown the pool stops being fed, waits for running jobs up to the deadline, then aborts them.
 * Jobs cut off that way get no outcome here: they stay `running` under a stopped instance and the
 * leader's recovery re-dispatches or abandons them exactly as it would after a crash.
 */
import type { Logger } from 'pino';
import type { JobSettings } from '../store/fire-store.js';
import type { Clock } from '../time/clock.js';
import { idempotencyKey, PermanentJobError, type JobContext } from '../jobs/job.js';
import type { JobRegistry } from '../jobs/job-registry.js';
import { resolveBackoff, retryDelayMs } from '../jobs/retry-policy.js';
import type { CompletionWriter } from './completion-writer.js';
import type { ExecutionEvent, SchedulerEventBus } from './scheduler-events.js';

export interface Dispatch {
  executionId: string;
  fireId: string;
  attempt: number;
  trigger: string;
  group: string;
  job: string;
  scheduledAt: Date;
  firedAt: Date;
  data: Record<string, unknown> | null;
  settings: JobSettings;
}

export interface ExecutorPoolOptions {
  slots: number;
  registry: JobRegistry;
  completions: CompletionWriter;
  events: SchedulerEventBus;
  clock: Clock;
  logger: Logger;
  instanceId: () => string;
  random?: () => number;
  onSlotFreed?: () => void;
}

class ShutdownAbort extends Error {}

export class ExecutorPool {
  readonly #running = new Map<string, { controller: AbortController; settled: Promise<void> }>();
  #accepting = true;

  constructor(private readonly options: ExecutorPoolOptions) {}

  get freeSlots(): number {
    return this.#accepting ? Math.max(0, this.options.slots - this.#running.size) : 0;
  }

  get inFlight(): number {
    return this.#running.size;
  }

  run(dispatch: Dispatch): void {
    const controller = new AbortController();
    const settled = this.#execute(dispatch, controller).finally(() => {
      this.#running.delete(dispatch.executionId);
      this.options.onSlotFreed?.();
    });
    this.#running.set(dispatch.executionId, { controller, settled });
  }

  /** Stops accepting work; waits for running jobs until `deadlineMs`, then aborts what is left. */
  async drain(deadlineMs: number): Promise<{ aborted: number }> {
    this.#accepting = false;
    const all = () => Promise.all([...this.#running.values()].map((entry) => entry.settled));
    const deadline = new AbortController();
    const finished = all().then(() => true);
    const timedOut = this.options.clock.sleep(deadlineMs, deadline.signal).then(() => false);
    const inTime = await Promise.race([finished, timedOut]);
    deadline.abort();
    if (inTime) return { aborted: 0 };
    const left = [...this.#running.values()];
    for (const entry of left) entry.controller.abort(new ShutdownAbort('shutdown deadline reached'));
    // Give aborted jobs a moment to unwind; whatever still runs is left to recovery.
    const grace = new AbortController();
    await Promise.race([all(), this.options.clock.sleep(1_000, grace.signal)]);
    grace.abort();
    return { aborted: left.length };
  }

  /** Aborts everything at once (this instance was declared dead: its work now belongs to others). */
  abortAll(reason: string): void {
    for (const entry of this.#running.values()) entry.controller.abort(new ShutdownAbort(reason));
  }

  async #execute(dispatch: Dispatch, controller: AbortController): Promise<void> {
    const { registry, events, clock, logger } = this.options;
    const event: ExecutionEvent = {
      executionId: dispatch.executionId,
      fireId: dispatch.fireId,
      job: dispatch.job,
      trigger: dispatch.trigger,
      group: dispatch.group,
      scheduledAt: dispatch.scheduledAt,
      firedAt: dispatch.firedAt,
      attempt: dispatch.attempt,
      instanceId: this.options.instanceId(),
    };
    const startedMs = clock.monotonicMs();
    const log = logger.child({ job: dispatch.job, trigger: dispatch.trigger, executionId: dispatch.executionId, attempt: dispatch.attempt });
    events.emit('execution:started', event);

    let status: 'succeeded' | 'failed' | 'timed_out' = 'succeeded';
    let error: unknown;
    let result: unknown = null;
    const registered = registry.get(dispatch.job);
    const timeoutMs = dispatch.settings.timeoutMs;
    let timer: NodeJS.Timeout | undefined;
    try {
      if (!registered) throw new PermanentJobError(`job "${dispatch.job}" is not registered on this replica`);
      let data: unknown = dispatch.data ?? {};
      if (registered.jobClass.schema) {
        const parsed = registered.jobClass.schema.safeParse(data);
        if (!parsed.success) {
          throw new PermanentJobError(`data rejected by the job's schema: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
        }
        data = parsed.data;
      }
      const ctx: JobContext<never> = {
        job: dispatch.job,
        data: data as never,
        fire: {
          trigger: dispatch.trigger,
          group: dispatch.group,
          scheduledAt: dispatch.scheduledAt,
          firedAt: dispatch.firedAt,
          attempt: dispatch.attempt,
          fireId: dispatch.fireId,
          executionId: dispatch.executionId,
        },
        idempotencyKey: idempotencyKey(dispatch.trigger, dispatch.scheduledAt),
        signal: controller.signal,
        logger: log,
      };
      const instance = new registered.jobClass();
      const running = Promise.resolve().then(() => instance.execute(ctx));
      const timeout =
        timeoutMs === null
          ? undefined
          : new Promise<'timeout'>((resolve) => {
              timer = setTimeout(() => resolve('timeout'), timeoutMs);
            });
      const first = await (timeout ? Promise.race([running, timeout]) : running);
      if (timeout && first === 'timeout') {
        status = 'timed_out';
        error = new Error(`timed out after ${timeoutMs} ms`);
        controller.abort(error);
        // The slot stays taken until the job gives up.
        running.catch(() => {}).finally(() => {});
        void this.#record(dispatch, event, status, error, null, startedMs);
        await running.catch(() => {});
        return;
      }
      result = first ?? null;
    } catch (caught) {
      if (caught instanceof ShutdownAbort || controller.signal.reason instanceof ShutdownAbort) {
        log.warn({ reason: String((controller.signal.reason as Error)?.message) }, 'execution cut off; left to recovery');
        return;
      }
      status = 'failed';
      error = caught;
    } finally {
      if (timer) clearTimeout(timer);
    }
    if (controller.signal.reason instanceof ShutdownAbort) return;
    await this.#record(dispatch, event, status, error, result, startedMs);
  }

  async #record(
    dispatch: Dispatch,
    event: ExecutionEvent,
    status: 'succeeded' | 'failed' | 'timed_out',
    error: unknown,
    result: unknown,
    startedMs: number,
  ): Promise<void> {
    const errorText = status === 'succeeded' ? null : describeError(error);
    const retryable = status !== 'succeeded' && !(error instanceof PermanentJobError) && dispatch.attempt < dispatch.settings.maxAttempts;
    const retryAfterMs = retryable
      ? retryDelayMs(dispatch.attempt, resolveBackoff(dispatch.settings.backoff), this.options.random)
      : null;
    const recorded = await this.options.completions.record({
      executionId: dispatch.executionId,
      status,
      error: errorText,
      result: toJson(result),
      traceId: null,
      retryAfterMs,
    });
    if (!recorded) this.options.logger.warn({ executionId: dispatch.executionId }, 'outcome not recorded: the execution was recovered by the leader');
    this.options.events.emit('execution:finished', {
      ...event,
      status,
      error: errorText,
      durationMs: Math.round(this.options.clock.monotonicMs() - startedMs),
      retryAfterMs,
      recorded,
    });
  }
}

function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`.slice(0, 4_000);
  return String(error).slice(0, 4_000);
}

function toJson(value: unknown): unknown {
  if (value === undefined || value === null || typeof value === 'function') return null;
  try {
    return JSON.parse(JSON.stringify(value)) as unknown;
  } catch {
    return null;
  }
}
