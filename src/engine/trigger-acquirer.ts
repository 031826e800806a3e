/**
 * The scheduling loop's pass: wake, acquire a batch of due triggers and hand their fires to the executor
 * pool (acquisition-transaction.ts records them); then claim pending executions (retries, recoveries,
 * catch-ups); then say how long to sleep: until the earliest next fire as the database measures it.
 *
 * It never busy-polls: it sleeps until the next due time (capped by `maxIdleMs`, a safety net for a lost
 * NOTIFY), and a NOTIFY on the change channel or a freed executor slot wakes it early. With no free slot
 * it acquires nothing, so a busy replica leaves due triggers to its peers; when peers hold every due row,
 * it backs off briefly instead of spinning.
 *
 * The pieces: schedule-cache.ts (compiled schedules by version), batch-planner.ts (planning the locked
 * triggers), fire-recording.ts (spans, dispatches and events of the recorded fires).
 */
import type { Logger } from 'pino';
import type { SchedulerEventBus } from '../events/scheduler-events.js';
import { ExecutionTracing, type TraceCarrier } from '../observability/execution-tracing.js';
import { claimPendingExecutions, recordFireTrace, type ClaimedExecution } from '../store/execution-store.js';
import type { Executor } from '../store/executor.js';
import { nextDueDelayMs } from '../store/fire-store.js';
import { backoffDelay } from '../time/backoff.js';
import { systemClock, type Clock } from '../time/clock.js';
import { acquireBatch, type AcquisitionOptions } from './acquisition-transaction.js';
import type { ExecutorPool } from './executor-pool.js';
import { DEFAULT_PLAN_LIMITS, type PlanLimits } from './fire-planner.js';
import { ScheduleCache, type CompileSchedule } from './schedule-cache.js';

/**
 * Back-off while peers hold every due row: 5–10 ms, then 10–20, 20–40, and 40–80 ms from the fourth
 * contended tick on. Equal jitter spreads replicas that met the same locks, yet none returns sooner than
 * half the delay (it would only find the rows still locked); the cap is short because a peer holds the
 * rows for one acquisition transaction only.
 */
const CONTENTION_BACKOFF = { initialMs: 10, maxMs: 80, jitter: 'equal' } as const;

const NO_UPSTREAMS: readonly never[] = Object.freeze([]);

export interface TriggerAcquirerOptions {
  executor: Executor;
  pool: ExecutorPool;
  events: SchedulerEventBus;
  logger: Logger;
  instanceId: () => string;
  jobNames: () => readonly string[];
  batchSize: number;
  maxIdleMs: number;
  planLimits?: PlanLimits;
  /** Builds the schedule of a stored trigger (calendars resolved); compiled schedules are cached by version. */
  compile?: CompileSchedule;
  /**
   * Called in the acquisition, before a batch with a replan (or a schedule that fails) is planned, with a
   * stamp of the stored calendars: reload them when the stamp differs from the one `compile` uses.
   */
  syncCalendars?: (stamp: string) => Promise<void>;
  onAcquired?: (batchSize: number) => void;
  /** Acquire triggers due within this many ms and start them on time (default 0). */
  lookaheadMs?: number;
  /** Draws the contention back-off's jitter, in [0, 1) (default Math.random). */
  random?: () => number;
  /** Spans `belfry.fire` (default: the global tracer, a no-op without an SDK). */
  tracing?: ExecutionTracing;
  /** Times the acquisition transaction (default: the system clock). */
  clock?: Clock;
}

export interface AcquireResult {
  fired: number;
  claimed: number;
  /** Milliseconds to sleep before the next tick. */
  waitMs: number;
}

export class TriggerAcquirer {
  readonly #schedules: ScheduleCache;
  readonly #acquisition: AcquisitionOptions;
  readonly #random: () => number;
  /** Consecutive ticks that found due work held by peers; grows the back-off. */
  #contention = 0;
  /** A `fireNow` recorded a pending attempt since the last tick: claim before acquiring (decision 0010). */
  #pendingNotified = false;
  readonly #tracing: ExecutionTracing;

  constructor(private readonly options: TriggerAcquirerOptions) {
    this.#schedules = new ScheduleCache(options.compile);
    this.#acquisition = {
      executor: options.executor,
      events: options.events,
      logger: options.logger,
      schedules: this.#schedules,
      tracing: (this.#tracing = options.tracing ?? new ExecutionTracing()),
      clock: options.clock ?? systemClock,
      planLimits: options.planLimits ?? DEFAULT_PLAN_LIMITS,
      lookaheadMs: options.lookaheadMs ?? 0,
      syncCalendars: options.syncCalendars,
      onAcquired: options.onAcquired,
    };
    this.#random = options.random ?? Math.random;
  }

  /** One pass: acquire and dispatch what is due, claim pending work, and say how long to sleep. */
  async tick(): Promise<AcquireResult> {
    const { pool, batchSize, maxIdleMs } = this.options;
    const jobs = this.options.jobNames();
    if (jobs.length === 0) return { fired: 0, claimed: 0, waitMs: maxIdleMs };
    let fired = 0;
    let claimed = 0;
    let more = false;
    let delay: number | null = null;
    // An acquisition that locked nothing answers how long until anything (a trigger, a replan, a pending
    // execution) is due, null for nothing at all: then neither the claim of pending work nor another
    // look at the next due time is worth a round trip.
    let delayKnown = false;

    if (this.#pendingNotified) {
      // A `fireNow` wrote its fire and pending attempt: one claim statement starts it, ahead of the
      // acquisition's four round trips. A replica that loses the race goes on with its usual pass.
      this.#pendingNotified = false;
      if (pool.freeSlots > 0) {
        claimed = await this.#claimPending(jobs, pool.freeSlots);
        if (claimed > 0) return { fired, claimed, waitMs: 0 };
      }
    }
    const limit = Math.min(batchSize, pool.freeSlots);
    let lockedNothing = false;
    if (limit > 0) {
      const acquired = await acquireBatch(this.#acquisition, {
        instanceId: this.options.instanceId(),
        jobs,
        limit,
      });
      fired = acquired.dispatches.length;
      more = acquired.more;
      delay = acquired.delayMs;
      lockedNothing = acquired.locked === 0;
      delayKnown = lockedNothing;
      for (const dispatch of acquired.dispatches) pool.run(dispatch);
    }
    if (pool.freeSlots > 0 && (more || (delay === null ? !delayKnown : delay <= 0))) {
      claimed = await this.#claimPending(jobs, pool.freeSlots);
      if (claimed > 0) more = true;
    }
    if (pool.freeSlots === 0) return { fired, claimed, waitMs: maxIdleMs }; // a freed slot wakes us
    if (more) {
      this.#contention = 0;
      return { fired, claimed, waitMs: 0 };
    }
    if (lockedNothing && claimed === 0 && delay !== null && delay <= (this.options.lookaheadMs ?? 0)) {
      // Work is due but peers hold every row of it (SKIP LOCKED found nothing): they are firing it. Retrying
      // at once would only spin; back off briefly with jitter (a NOTIFY or a freed slot still wakes us).
      this.#contention += 1;
      const waitMs = backoffDelay({ ...CONTENTION_BACKOFF, attempt: this.#contention }, this.#random);
      return { fired, claimed, waitMs };
    }
    this.#contention = 0;
    if (delay === null && !delayKnown) delay = await nextDueDelayMs(this.options.executor, { jobs });
    const lookahead = this.options.lookaheadMs ?? 0;
    return {
      fired,
      claimed,
      waitMs: delay === null ? maxIdleMs : Math.min(Math.max(delay - lookahead, 0), maxIdleMs),
    };
  }

  async #claimPending(jobs: readonly string[], limit: number): Promise<number> {
    const claimed = await claimPendingExecutions(this.options.executor, {
      instanceId: this.options.instanceId(),
      jobs,
      limit,
    });
    // A fireNow's fire (no replica recorded it): its claim is where a replica first sees it, so its span
    // and `trigger:fired` happen here, as the acquisition's would after its commit.
    const contexts = claimed.map((execution) =>
      execution.firedBy === null && execution.attempt === 1 && execution.triggerId !== null
        ? this.#announce(execution)
        : execution.traceContext,
    );
    // With tracing on only: the fire keeps its span's context before its attempt starts, so a retry or a
    // recovery elsewhere continues the trace. A failure here must not strand the claimed attempts.
    for (let i = 0; i < claimed.length; i++) {
      const execution = claimed[i]!;
      const traceContext = contexts[i];
      if (traceContext && traceContext !== execution.traceContext) {
        try {
          await recordFireTrace(this.options.executor, {
            fireId: execution.fireId,
            executionId: execution.executionId,
            scheduledAt: execution.scheduledAt,
            traceContext,
          });
        } catch (error) {
          this.options.logger.warn(
            { err: error, fireId: execution.fireId },
            'could not store the fire trace',
          );
        }
      }
    }
    for (let i = 0; i < claimed.length; i++) {
      const execution = claimed[i]!;
      this.options.pool.run({
        executionId: execution.executionId,
        fireId: execution.fireId,
        attempt: execution.attempt,
        trigger: execution.triggerName,
        group: execution.group,
        job: execution.job,
        scheduledAt: execution.scheduledAt,
        firedAt: execution.firedAt,
        data: execution.data,
        settings: execution.settings,
        traceContext: contexts[i] ?? null,
        // A trigger's fire has no upstreams (only continuation fires, which have no trigger, do): no query.
        ...(execution.triggerId !== null ? { upstreams: NO_UPSTREAMS } : {}),
      });
    }
    return claimed.length;
  }

  /** Spans and announces a `fireNow` fire at its claim; returns its trace context (null: not traced). */
  #announce(execution: ClaimedExecution): TraceCarrier | null {
    const fire = {
      trigger: execution.triggerName,
      group: execution.group,
      job: execution.job,
      scheduledAt: execution.scheduledAt,
    };
    const span = this.#tracing.startFire({ ...fire, dbNow: execution.firedAt });
    if (span) this.#tracing.endFire(span.span, 'fired', execution.fireId);
    this.options.events.emit('trigger:fired', {
      executionId: execution.executionId,
      fireId: execution.fireId,
      job: fire.job,
      trigger: fire.trigger,
      group: fire.group,
      scheduledAt: fire.scheduledAt,
      firedAt: execution.firedAt,
      attempt: 1,
      instanceId: this.options.instanceId(),
    });
    return span?.carrier ?? execution.traceContext;
  }

  /** A `fireNow` NOTIFY (FIRED_NOW_NOTIFY) arrived: the next tick claims pending work first. */
  pendingNotified(): void {
    this.#pendingNotified = true;
  }

  /** Drops compiled schedules (calendars changed: schedules built on them are stale). */
  forgetSchedules(): void {
    this.#schedules.clear();
  }
}
