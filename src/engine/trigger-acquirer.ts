/**
 * The scheduling loop: wake, acquire a batch of due triggers, record their fires and advance them in one
 * transaction, hand the fires to the executor pool; then claim pending executions (retries, recoveries,
 * catch-ups); then sleep until the earliest next fire as the database measures it.
 *
 * It never busy-polls: it sleeps until the next due time (capped by `maxIdleMs`, a safety net for a lost
 * NOTIFY), and a NOTIFY on the change channel or a freed executor slot wakes it early. With no free slot
 * it acquires nothing, so a busy replica leaves due triggers to its peers.
 */
import type { Span } from '@opentelemetry/api';
import type { Logger } from 'pino';
import { calendarsStamp } from '../store/definition-store.js';
import { claimPendingExecutions } from '../store/execution-store.js';
import { inTransaction, type Executor } from '../store/executor.js';
import {
  lockBusyJobs,
  lockDueTriggers,
  nextDueDelayMs,
  recordFires,
  type DueTrigger,
  type FireToRecord,
  type TriggerAdvance,
} from '../store/fire-store.js';
import { ExecutionTracing } from '../observability/execution-tracing.js';
import { backoffDelay } from '../time/backoff.js';
import { systemClock, type Clock } from '../time/clock.js';
import { compileSchedule, type Schedule, type ScheduleSpec } from '../time/schedule.js';
import type { ExecutorPool, Dispatch } from './executor-pool.js';
import {
  advanceOf,
  DEFAULT_PLAN_LIMITS,
  fireOf,
  planTrigger,
  type SupersededSchedule,
  UNPLANNABLE,
  unplannableTrigger,
  type PlanLimits,
} from './fire-planner.js';
import type { SchedulerEventBus } from '../events/scheduler-events.js';

/**
 * Back-off while peers hold every due row: 5–10 ms, then 10–20, 20–40, and 40–80 ms from the fourth
 * contended tick on. Equal jitter spreads replicas that met the same locks, yet none returns sooner than
 * half the delay (it would only find the rows still locked); the cap is short because a peer holds the
 * rows for one acquisition transaction only.
 */
const CONTENTION_BACKOFF = { initialMs: 10, maxMs: 80, jitter: 'equal' } as const;

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
  compile?: (spec: ScheduleSpec, trigger: DueTrigger) => Schedule;
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
  readonly #schedules = new Map<string, { version: number; schedule: Schedule }>();
  /** The superseded schedules of triggers with a pending replan, compiled like #schedules. */
  readonly #superseded = new Map<string, { version: number; schedules: SupersededSchedule[] }>();
  readonly #tracing: ExecutionTracing;
  readonly #clock: Clock;
  readonly #random: () => number;
  /** Consecutive ticks that found due work held by peers; grows the back-off. */
  #contention = 0;

  constructor(private readonly options: TriggerAcquirerOptions) {
    this.#tracing = options.tracing ?? new ExecutionTracing();
    this.#clock = options.clock ?? systemClock;
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

    const limit = Math.min(batchSize, pool.freeSlots);
    let lockedNothing = false;
    if (limit > 0) {
      const acquired = await this.#acquire(jobs, limit);
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

  async #acquire(
    jobs: readonly string[],
    limit: number,
  ): Promise<{ dispatches: Dispatch[]; more: boolean; locked: number; delayMs: number | null }> {
    const instanceId = this.options.instanceId();
    const tracing = this.#tracing;
    // Fire spans by `${triggerId}@${scheduledMs}`: ended with their outcome after commit, failed on rollback.
    let fireSpans: Map<string, Span> | undefined;
    let batchSize = 0;
    const startedMs = this.#clock.monotonicMs();
    return inTransaction(this.options.executor, async (tx) => {
      fireSpans = undefined;
      const { triggers: due, idleDelayMs } = await lockDueTriggers(tx, {
        instanceId,
        jobs,
        limit,
        lookaheadMs: this.options.lookaheadMs ?? 0,
      });
      const lockedAtMono = this.#clock.monotonicMs();
      batchSize = due.length;
      if (due.length === 0) return { dispatches: [], more: false, locked: 0, delayMs: idleDelayMs ?? null };
      this.options.onAcquired?.(due.length);

      const advances: TriggerAdvance[] = [];
      const fires: FireToRecord[] = [];
      const byTrigger = new Map(due.map((trigger) => [trigger.id, trigger]));
      let stillDue = due.length === limit;
      // A replan (a schedule or calendar change) is planned against the calendars as this transaction
      // sees them, not as the last NOTIFY left them: a replica that ticks before the change's NOTIFY
      // arrives must not plan on a stale calendar (or pause a trigger whose calendar was just fixed).
      let calendarsSynced = false;
      const syncCalendars = async () => {
        if (calendarsSynced || !this.options.syncCalendars) return false;
        calendarsSynced = true;
        await this.options.syncCalendars(await calendarsStamp(tx));
        return true;
      };
      if (due.some((trigger) => trigger.replanAt !== null)) await syncCalendars();
      for (const trigger of due) {
        let plan;
        try {
          let schedule: Schedule;
          let superseded: SupersededSchedule[];
          try {
            schedule = this.#schedule(trigger);
            superseded = this.#supersededSchedules(trigger);
          } catch (error) {
            if (!(await syncCalendars())) throw error;
            schedule = this.#schedule(trigger);
            superseded = this.#supersededSchedules(trigger);
          }
          plan = planTrigger(
            trigger,
            schedule,
            trigger.dbNow,
            this.options.planLimits ?? DEFAULT_PLAN_LIMITS,
            superseded,
          );
        } catch (error) {
          // A trigger whose spec no longer compiles (a calendar was deleted, say) must not block the rest,
          // and must not end silently: it is paused with the reason, and its due time gets a history row.
          const unplannable = unplannableTrigger(trigger, error);
          this.options.logger.error(
            { err: error, trigger: trigger.name, reason: unplannable.advance.pausedReason },
            'trigger schedule failed; pausing trigger',
          );
          advances.push(unplannable.advance);
          if (unplannable.fire) fires.push(fireOf(trigger, unplannable.fire, null));
          continue;
        }
        if (plan.nextFireAt && plan.nextFireAt.getTime() <= trigger.dbNow.getTime()) stillDue = true;
        advances.push(advanceOf(trigger, plan));
        for (const planned of plan.fires) {
          const fireSpan = tracing.startFire({
            trigger: trigger.name,
            group: trigger.group,
            job: trigger.job,
            scheduledAt: planned.scheduledAt,
            dbNow: trigger.dbNow,
          });
          if (fireSpan)
            (fireSpans ??= new Map()).set(`${trigger.id}@${planned.scheduledAt.getTime()}`, fireSpan.span);
          fires.push(fireOf(trigger, planned, fireSpan?.carrier ?? null));
        }
      }

      // concurrency: forbid — one execution of the job at a time, cluster-wide.
      const forbidJobs = [...new Set(due.filter((t) => t.concurrency === 'forbid').map((t) => t.job))].sort();
      if (forbidJobs.length > 0) {
        const busy = await lockBusyJobs(tx, { jobs: forbidJobs });
        for (const fire of fires) {
          if (!forbidJobs.includes(fire.job) || (fire.status !== 'running' && fire.status !== 'pending'))
            continue;
          if (busy.has(fire.job)) {
            fire.status = 'skipped';
            fire.error = 'skipped: concurrency forbid and the previous execution is still running';
          } else {
            busy.add(fire.job);
          }
        }
      }

      const recorded = await recordFires(tx, { instanceId, advances, fires });
      const errors = new Map(fires.map((f) => [`${f.triggerId}@${f.scheduledAt.getTime()}`, f.error]));
      const dispatches: Dispatch[] = [];
      const carriers = fireSpans
        ? new Map(fires.map((f) => [`${f.triggerId}@${f.scheduledAt.getTime()}`, f.traceContext]))
        : undefined;
      for (const fire of recorded) {
        const trigger = byTrigger.get(fire.triggerId)!;
        const key = fireSpans ? `${fire.triggerId}@${fire.scheduledAt.getTime()}` : '';
        const event = {
          executionId: fire.executionId,
          fireId: fire.fireId,
          job: trigger.job,
          trigger: trigger.name,
          group: trigger.group,
          scheduledAt: fire.scheduledAt,
          firedAt: fire.firedAt,
          attempt: 1,
          instanceId,
        };
        if (fire.status === 'running') {
          dispatches.push({
            ...event,
            data: trigger.data,
            settings: trigger.settings,
            traceContext: carriers?.get(key) ?? null,
            // Acquired ahead of its time: start when the database clock reaches the scheduled time.
            notBeforeMono: lockedAtMono + (fire.scheduledAt.getTime() - trigger.dbNow.getTime()),
          });
        }
        const span = fireSpans?.get(key);
        if (span) {
          const outcome = fire.status === 'running' ? 'fired' : fire.status;
          this.#pendingEvents.push(() => tracing.endFire(span, outcome, fire.fireId));
        }
        this.#emitAfterCommit(
          fire.status,
          event,
          errors.get(`${fire.triggerId}@${fire.scheduledAt.getTime()}`),
        );
      }
      return { dispatches, more: stillDue, locked: due.length, delayMs: stillDue ? 0 : null };
    }).then(
      (result) => {
        this.#emitAcquisition(batchSize, startedMs);
        this.#flushEvents();
        return result;
      },
      (error) => {
        this.#pendingEvents = [];
        for (const span of fireSpans?.values() ?? []) tracing.failFire(span, error);
        throw error;
      },
    );
  }

  #pendingEvents: (() => void)[] = [];

  #emitAcquisition(batchSize: number, startedMs: number): void {
    const durationMs = this.#clock.monotonicMs() - startedMs;
    this.options.events.emit('acquisition:finished', { batchSize, durationMs });
  }

  #emitAfterCommit(
    status: string,
    event: Parameters<SchedulerEventBus['emit']>[1] & {
      trigger: string;
      group: string;
      job: string;
      scheduledAt: Date;
    },
    error: string | null = null,
  ): void {
    const { events } = this.options;
    const payload = event as never;
    if (status === 'running' || status === 'pending')
      this.#pendingEvents.push(() => events.emit('trigger:fired', payload));
    else if (status === 'skipped')
      this.#pendingEvents.push(() =>
        events.emit('execution:skipped', {
          ...(event as object),
          reason: error?.startsWith(UNPLANNABLE) ? 'schedule failed' : 'concurrency forbid',
        } as never),
      );
    else if (status === 'misfired') {
      this.#pendingEvents.push(() =>
        events.emit('trigger:misfired', {
          trigger: event.trigger,
          group: event.group,
          job: event.job,
          scheduledAt: event.scheduledAt,
          note: null,
        }),
      );
    }
  }

  #flushEvents(): void {
    const pending = this.#pendingEvents;
    this.#pendingEvents = [];
    for (const emit of pending) emit();
  }

  async #claimPending(jobs: readonly string[], limit: number): Promise<number> {
    const claimed = await claimPendingExecutions(this.options.executor, {
      instanceId: this.options.instanceId(),
      jobs,
      limit,
    });
    for (const execution of claimed) {
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
        traceContext: execution.traceContext,
      });
    }
    return claimed.length;
  }

  /** Drops compiled schedules (calendars changed: schedules built on them are stale). */
  forgetSchedules(): void {
    this.#schedules.clear();
    this.#superseded.clear();
  }

  /** The schedules a pending change replaced (each governs up to its change), compiled once per version. */
  #supersededSchedules(trigger: DueTrigger): SupersededSchedule[] {
    if (!trigger.replanAt || !trigger.supersededSchedules?.length) return [];
    const cached = this.#superseded.get(trigger.id);
    if (cached && cached.version === trigger.version) return cached.schedules;
    const schedules = trigger.supersededSchedules.map((piece) => {
      const spec = piece.spec as ScheduleSpec;
      return {
        schedule: this.options.compile ? this.options.compile(spec, trigger) : compileSchedule(spec),
        until: new Date(piece.until),
      };
    });
    this.#superseded.set(trigger.id, { version: trigger.version, schedules });
    if (this.#superseded.size > 10_000) this.#superseded.clear();
    return schedules;
  }

  #schedule(trigger: DueTrigger): Schedule {
    const cached = this.#schedules.get(trigger.id);
    if (cached && cached.version === trigger.version) return cached.schedule;
    const spec = trigger.spec as ScheduleSpec;
    const schedule = this.options.compile ? this.options.compile(spec, trigger) : compileSchedule(spec);
    this.#schedules.set(trigger.id, { version: trigger.version, schedule });
    if (this.#schedules.size > 100_000) this.#schedules.clear();
    return schedule;
  }
}
