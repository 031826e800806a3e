/**
 * Runs executions on this replica with bounded concurrency.
 *
 * Per execution: validate the data with the job's schema, run `execute(ctx)` with an AbortSignal, abort
 * it at the job's timeout (recorded `timed_out` at once; the slot stays taken until the job's promise
 * settles, so a job that ignores its signal cannot push the replica past its bound), and decide on a
 * retry. Outcomes go to the CompletionWriter.
 *
 * Per dispatch:  waiting (fire-ahead, or for news of the identity) --> started --> outcome recorded
 *                    |                                                      |
 *                    +-- aborted or identity dead --> released (not run)     +-- cut off (no outcome)
 *
 * Nothing starts unless the identity it was claimed under is known alive at that moment: the StartGate
 * (start-gate.ts) is asked after any wait, after the listener hooks, and last in the same synchronous
 * step as the handler's call. An attempt that never started is released (handed back at shutdown, left
 * to the leader's recovery under a dead identity).
 *
 * At shutdown the pool stops being fed, releases what has not started, waits for running jobs up to the
 * deadline, then aborts them. Jobs cut off that way get no outcome here: they stay `running` under a
 * stopped instance and the leader's recovery re-dispatches or abandons them exactly as after a crash.
 *
 * Each attempt runs inside its `belfry.execute` span (a child of the fire's span, whichever replica
 * recorded the fire), with the listener hooks around it: triggerFired (attempt 1) → vetoJobExecution →
 * jobToBeExecuted → execute → outcome recorded → jobWasExecuted → triggerComplete. A veto is recorded
 * through the completion path as `vetoed`, with the vetoing listener's name as the error.
 */
import type { Logger } from 'pino';
import { BelfryError } from '../errors/belfry-error.js';
import type { ExecutionInfo } from '../listeners/listener.js';
import type { ListenerRegistry } from '../listeners/listener-registry.js';
import {
  ExecutionTracing,
  runInExecution,
  type ActiveExecution,
  type TraceCarrier,
} from '../observability/execution-tracing.js';
import type { IdentityGuard } from '../cluster/instance-identity.js';
import type { JobSettings } from '../store/fire-store.js';
import { backoffDelay } from '../time/backoff.js';
import type { Clock } from '../time/clock.js';
import { PermanentJobError, type UpstreamOutcome } from '../jobs/job.js';
import { awaitJob, buildJobContext, parseJobData, startJob } from '../jobs/job-invocation.js';
import type { JobRegistry } from '../jobs/job-registry.js';
import { resolveBackoff, retryDelayMs } from '../jobs/retry-policy.js';
import type { CompletionWriter } from './completion-writer.js';
import { ReleaseAbort, StartGate } from './start-gate.js';
import type { ExecutionEvent, SchedulerEventBus } from '../events/scheduler-events.js';

/** Reads of a continuation's upstreams before its attempt fails (about ten seconds of backoff). */
const UPSTREAM_READ_TRIES = 10;

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
  /** The fire's W3C trace context (`fires.trace_context`); null when the fire was not traced. */
  traceContext: TraceCarrier | null;
  /** Monotonic ms before which the attempt must not start (a fire acquired ahead of its time). */
  notBeforeMono?: number;
  /** The instance id the attempt was acquired or claimed under (default: the current one at `run`). */
  instanceId?: string;
  /**
   * A continuation's upstreams (`ctx.upstream`). When left undefined for an attempt claimed from pending
   * (no `notBeforeMono`: continuations, retries, recoveries), the pool asks `upstreamsOf`.
   */
  upstreams?: readonly UpstreamOutcome[];
}

export interface ExecutorPoolOptions {
  slots: number;
  registry: JobRegistry;
  completions: Pick<CompletionWriter, 'record' | 'release'>;
  /** Whether work claimed under an instance id may start now. */
  identity: IdentityGuard;
  events: SchedulerEventBus;
  clock: Clock;
  logger: Logger;
  instanceId: () => string;
  random?: () => number;
  onSlotFreed?: () => void;
  listeners?: ListenerRegistry;
  /** Spans `belfry.execute` (default: the global tracer, a no-op without an SDK). */
  tracing?: ExecutionTracing;
  /** Reads a fire's upstreams (store/execution-store.ts upstreamsOf); without it, ctx.upstream is null. */
  upstreamsOf?: (fireId: string, scheduledAt: Date) => Promise<UpstreamOutcome[]>;
}

/** `belfry cancel`: the attempt is already recorded `cancelled`; the job's signal says so. */
export class CancelAbort extends BelfryError {
  constructor(executionId: string) {
    super('BELFRY_ERR_CANCELLED', `execution ${executionId} was cancelled by an operator`);
  }
}

/** Cuts a started attempt off: it gets no outcome here, the leader's recovery decides. */
class ShutdownAbort extends BelfryError {
  constructor(message: string) {
    super('BELFRY_ERR_SHUTDOWN_DEADLINE', message);
  }
}

interface Entry {
  controller: AbortController;
  started: boolean;
  settled: Promise<void>;
}

export class ExecutorPool {
  readonly #running = new Map<string, Entry>();
  #accepting = true;
  readonly #tracing: ExecutionTracing;
  readonly #gate: StartGate;

  constructor(private readonly options: ExecutorPoolOptions) {
    this.#tracing = options.tracing ?? new ExecutionTracing();
    this.#gate = new StartGate(options);
  }

  get freeSlots(): number {
    return this.#accepting ? Math.max(0, this.options.slots - this.#running.size) : 0;
  }

  get inFlight(): number {
    return this.#running.size;
  }

  run(dispatch: Dispatch): void {
    const claimedAs = dispatch.instanceId ?? this.options.instanceId();
    const entry: Entry = { controller: new AbortController(), started: false, settled: Promise.resolve() };
    this.#running.set(dispatch.executionId, entry);
    entry.settled = this.#run(dispatch, entry, claimedAs)
      .catch((error: unknown) =>
        this.options.logger.error({ err: error, executionId: dispatch.executionId }, 'execution failed'),
      )
      .finally(() => {
        this.#running.delete(dispatch.executionId);
        this.options.onSlotFreed?.();
      });
  }

  async #run(dispatch: Dispatch, entry: Entry, claimedAs: string): Promise<void> {
    const { signal } = entry.controller;
    if (!(await this.#gate.waitToStart(dispatch.notBeforeMono, claimedAs, signal)))
      return this.#gate.release(this.#eventOf(dispatch, claimedAs), signal);
    entry.started = true;
    await this.#execute(dispatch, entry.controller, claimedAs);
  }

  /** Ends the span of an attempt that began (listeners ran) but will not start after all. */
  /**
   * A continuation's upstreams, read again after a failed read: the read comes before the handler, so a
   * killed connection (the chaos test's `pg_terminate_backend`) would otherwise fail a job that never ran.
   * Gives up, and fails the attempt, only after about ten seconds of failures or when the attempt aborts.
   */
  async #readUpstreams(
    read: (fireId: string, scheduledAt: Date) => Promise<UpstreamOutcome[]>,
    { fireId, scheduledAt }: Pick<Dispatch, 'fireId' | 'scheduledAt'>,
    signal: AbortSignal,
    log: Logger,
  ): Promise<UpstreamOutcome[]> {
    for (let failures = 1; ; failures += 1) {
      try {
        return await read(fireId, scheduledAt);
      } catch (error) {
        if (signal.aborted || failures >= UPSTREAM_READ_TRIES) throw error;
        const delay = backoffDelay({ attempt: failures, initialMs: 100, maxMs: 2_000, jitter: 'equal' });
        log.warn({ err: error, retryInMs: Math.round(delay) }, "reading the continuation's upstreams failed");
        await this.options.clock.sleep(delay, signal);
      }
    }
  }

  #notStarted(event: ExecutionEvent, signal: AbortSignal, active: ActiveExecution | null): Promise<void> {
    if (active) this.#tracing.endExecute(active, 'cut_off');
    return this.#gate.release(event, signal);
  }

  /**
   * Stops accepting work and hands back what has not started; waits for running jobs until `deadlineMs`,
   * then aborts what is left.
   */
  async drain(deadlineMs: number): Promise<{ aborted: number }> {
    this.#accepting = false;
    for (const entry of this.#running.values())
      if (!entry.started) entry.controller.abort(new ReleaseAbort('replica stopping'));
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

  /**
   * Aborts one attempt's signal because an operator cancelled it (the row is already `cancelled`, so no
   * outcome is recorded for it). Returns whether it ran here.
   */
  cancel(executionId: string): boolean {
    const entry = this.#running.get(executionId);
    if (!entry) return false;
    entry.controller.abort(new CancelAbort(executionId));
    return true;
  }

  /** Aborts everything at once (this instance was declared dead: its work now belongs to others). */
  abortAll(reason: string): void {
    for (const entry of this.#running.values()) entry.controller.abort(new ShutdownAbort(reason));
  }

  #eventOf(dispatch: Dispatch, claimedAs: string): ExecutionEvent {
    return {
      executionId: dispatch.executionId,
      fireId: dispatch.fireId,
      job: dispatch.job,
      trigger: dispatch.trigger,
      group: dispatch.group,
      scheduledAt: dispatch.scheduledAt,
      firedAt: dispatch.firedAt,
      attempt: dispatch.attempt,
      instanceId: claimedAs,
    };
  }

  #execute(dispatch: Dispatch, controller: AbortController, claimedAs: string): Promise<void> {
    const event = this.#eventOf(dispatch, claimedAs);
    // The spread last, on purpose: V8 (Node 20) builds `{ ...event, more }` in its slow runtime path, about
    // 4 µs per object, `{ more, ...event }` in 0.1 µs (the keys are disjoint; docs/performance.md).
    const active = this.#tracing.startExecute({ traceContext: dispatch.traceContext, ...event });
    const info: ExecutionInfo = { data: dispatch.data, traceId: active?.traceId ?? null, ...event };
    // Everything of this attempt (listeners, the job, its logs) runs with the execute span active.
    return runInExecution(active, () => this.#attempt(dispatch, controller, event, info, active));
  }

  async #attempt(
    dispatch: Dispatch,
    controller: AbortController,
    event: ExecutionEvent,
    info: ExecutionInfo,
    active: ActiveExecution | null,
  ): Promise<void> {
    const claimedAs = event.instanceId;
    const { registry, events, clock, logger, listeners } = this.options;
    // Built on first use: most attempts never log (a pino child is ~4 µs per attempt; docs/performance.md).
    let logged: Logger | undefined;
    const log = () =>
      (logged ??= logger.child({
        job: dispatch.job,
        trigger: dispatch.trigger,
        executionId: dispatch.executionId,
        attempt: dispatch.attempt,
      }));
    // Each hook is awaited only when some listener implements it: no listener, no extra turn.
    if (listeners?.wants('triggerFired') && dispatch.attempt === 1) await listeners.triggerFired(info);
    if (listeners?.wants('vetoJobExecution')) {
      const vetoedBy = await listeners.vetoer(info);
      if (vetoedBy !== null) return this.#recordVeto(event, info, active, vetoedBy);
    }
    // Listener hooks may have taken a while: ask again, right before the start.
    if (!(await this.#gate.mayStart(claimedAs, controller.signal)))
      return this.#notStarted(event, controller.signal, active);
    const startedMs = clock.monotonicMs();
    events.emit('execution:started', event);
    if (listeners?.wants('jobToBeExecuted')) await listeners.jobToBeExecuted(info);

    let status: 'succeeded' | 'failed' | 'timed_out' = 'succeeded';
    let error: unknown;
    let result: unknown = null;
    const registered = registry.get(dispatch.job);
    const attempt = { dispatch, event, info, active, startedMs };
    try {
      if (!registered) throw new PermanentJobError(`job "${dispatch.job}" is not registered on this replica`);
      const upstreams =
        dispatch.upstreams ??
        (dispatch.notBeforeMono === undefined && this.options.upstreamsOf
          ? await this.#readUpstreams(this.options.upstreamsOf, dispatch, controller.signal, log())
          : []);
      const ctx = buildJobContext({
        upstreams,
        job: dispatch.job,
        data: parseJobData(registered.jobClass, dispatch.data ?? {}),
        fire: {
          trigger: dispatch.trigger,
          group: dispatch.group,
          scheduledAt: dispatch.scheduledAt,
          firedAt: dispatch.firedAt,
          attempt: dispatch.attempt,
          fireId: dispatch.fireId,
          executionId: dispatch.executionId,
        },
        signal: controller.signal,
        logger: log,
      });
      const instance = new registered.jobClass();
      // The last check, with nothing that yields between it and the handler's call: a replica stalled past
      // dead-after sees the lapse here, and its handler does not start under an identity that may be dead.
      while (!this.#gate.aliveNow(claimedAs, controller.signal))
        if (!(await this.#gate.mayStart(claimedAs, controller.signal)))
          return this.#notStarted(event, controller.signal, active);
      const running = startJob(instance, ctx);
      const settled = await awaitJob(running, { timeoutMs: dispatch.settings.timeoutMs, controller });
      if (settled.timedOut) {
        status = 'timed_out';
        error = settled.error;
        // Recorded at once; the slot stays taken until the job gives up.
        const recording = this.#record(attempt, status, error, null);
        await running.catch(() => {});
        await recording;
        return;
      }
      result = settled.result ?? null;
    } catch (caught) {
      if (controller.signal.reason instanceof CancelAbort) return this.#cancelled(dispatch, active, log());
      if (caught instanceof ShutdownAbort || controller.signal.reason instanceof ShutdownAbort) {
        log().warn(
          { reason: String((controller.signal.reason as Error)?.message) },
          'execution cut off; left to recovery',
        );
        if (active) this.#tracing.endExecute(active, 'cut_off');
        return;
      }
      status = 'failed';
      error = caught;
    }
    if (controller.signal.reason instanceof ShutdownAbort) {
      if (active) this.#tracing.endExecute(active, 'cut_off');
      return;
    }
    if (controller.signal.reason instanceof CancelAbort) return this.#cancelled(dispatch, active, log());
    await this.#record(attempt, status, error, result);
  }

  async #record(
    attempt: {
      dispatch: Dispatch;
      event: ExecutionEvent;
      info: ExecutionInfo;
      active: ActiveExecution | null;
      startedMs: number;
    },
    status: 'succeeded' | 'failed' | 'timed_out',
    error: unknown,
    result: unknown,
  ): Promise<void> {
    const { dispatch, event, info, active, startedMs } = attempt;
    const errorText = status === 'succeeded' ? null : describeError(error);
    const retryable =
      status !== 'succeeded' &&
      !(error instanceof PermanentJobError) &&
      dispatch.attempt < dispatch.settings.maxAttempts;
    const retryAfterMs = retryable
      ? retryDelayMs(dispatch.attempt, resolveBackoff(dispatch.settings.backoff), this.options.random)
      : null;
    const recorded = await this.options.completions.record({
      executionId: dispatch.executionId,
      scheduledAt: dispatch.scheduledAt,
      status,
      error: errorText,
      result: toJson(result),
      traceId: info.traceId,
      retryAfterMs,
    });
    if (!recorded)
      this.options.logger.warn(
        { executionId: dispatch.executionId },
        'outcome not recorded: the execution was recovered by the leader',
      );
    const durationMs = Math.round(this.options.clock.monotonicMs() - startedMs);
    if (active) this.#tracing.endExecute(active, status, { error });
    this.options.events.emit('execution:finished', {
      status,
      error: errorText,
      durationMs,
      retryAfterMs,
      recorded,
      ...event, // last: see #execute
    });
    if (this.options.listeners?.wants('executed')) {
      await this.options.listeners.executed(info, {
        status,
        result,
        error,
        durationMs,
        retryAfterMs,
        recorded,
      });
    }
  }

  /** A cancelled attempt ended: its `cancelled` row was written by the operation, nothing to record. */
  #cancelled(dispatch: Dispatch, active: ActiveExecution | null, log: Logger): void {
    log.info({ executionId: dispatch.executionId }, 'execution cancelled by an operator');
    if (active) this.#tracing.endExecute(active, 'cut_off', { error: new CancelAbort(dispatch.executionId) });
  }

  async #recordVeto(
    event: ExecutionEvent,
    info: ExecutionInfo,
    active: ActiveExecution | null,
    listener: string,
  ): Promise<void> {
    const recorded = await this.options.completions.record({
      executionId: event.executionId,
      scheduledAt: event.scheduledAt,
      status: 'vetoed',
      error: listener,
      result: null,
      traceId: info.traceId,
      retryAfterMs: null,
    });
    if (active) this.#tracing.endExecute(active, 'vetoed', { vetoedBy: listener });
    this.options.events.emit('execution:vetoed', { ...event, listener, recorded });
    await this.options.listeners?.jobExecutionVetoed(info, { listener });
  }
}

function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`.slice(0, 4_000);
  return String(error).slice(0, 4_000);
}

/** The most JSON (in UTF-16 code units) an execution's `result` keeps; docs/audit.md documents it. */
export const MAX_RESULT_CHARS = 65_536;

/**
 * What `execute` returned, as stored in `executions.result` and passed to continuations as
 * `ctx.upstream.result`: its JSON, or `{ truncated: true, bytes }` past MAX_RESULT_CHARS (a result is a
 * summary for the history and the next job, not a payload store), or null when it has no JSON form.
 */
export function toJson(value: unknown): unknown {
  if (value === undefined || value === null || typeof value === 'function') return null;
  try {
    const text = JSON.stringify(value);
    if (text === undefined) return null;
    if (text.length > MAX_RESULT_CHARS) return { truncated: true, bytes: Buffer.byteLength(text) };
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}
