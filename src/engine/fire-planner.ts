/**
 * Decides what an acquired trigger does now: pure, no I/O, time passed in (the database's now). It is the
 * one place that decides a trigger's next fire time (architecture invariant 6); the acquirer calls it
 * under the row lock and writes its answer in the same transaction as the fires.
 *
 * Replanning: writers that change a schedule (apply, calendar edits) only record `replanAt`, the database
 * time of the change, and leave `nextFireAt` alone. They also keep the schedules that were in effect
 * (`superseded`: each with the time it stopped governing, oldest first), so the trigger's schedule is
 * piecewise: superseded[0] up to its `until` (= the first change), superseded[1] from there up to the
 * second change, ..., and the current schedule after the last change. Here, under the lock:
 *   - a fire already due when the change came (`nextFireAt <= replanAt`) is kept and judged like any
 *     other; the trigger then walks the piecewise schedule, so every time the old schedule owed up to the
 *     change is kept too: run on time, or judged with the rest as one outage (one misfire decision);
 *   - otherwise the stored next fire is dropped (not due when the change came) and the next fire is the
 *     piecewise schedule's first after max(replanAt, previousFireAt, start - 1 ms), capped by end, and
 *     nothing fires in this pass.
 * While the next fire still lies in a superseded piece, the plan keeps the replan state, with `replanAt`
 * moved to that next fire (so the next pass keeps it, as a fire due at the change); once the next fire
 * is past the last change (or there is none) the replan state is cleared. Either way the next fire is
 * never at or before `previousFireAt`, the last recorded fire, so a change can neither skip a due fire
 * nor repeat one. Without `superseded` (rows written before migration 0007) the due fire is kept and the
 * current schedule continues after it.
 *
 * On time (no later than the trigger's misfire threshold): the due fire runs and the trigger advances
 * from that *scheduled* time, so a slow replica never drifts a schedule. A fire that is still due after
 * advancing is picked up again at once by the acquirer, so a short outage is caught up fire by fire.
 *
 * Misfired (later than the threshold: every replica was down, the database was down, the trigger was
 * paused): the decision is taken ONCE per outage, as Quartz does. `misfireUntil` records the database time
 * of the decision; every fire scheduled at or before it belongs to the outage. The outage is walked in
 * chunks of `maxMissedPerPlan` (one transaction stays small however long it was); every missed fire is
 * recorded `misfired`, and the final chunk applies the policy to the most recent ones:
 *   - fire-once-now (default): the most recent missed fire runs now; the others stay misfired.
 *   - fire-all: the most recent `catchUpMax` missed fires run, spread `catchUpSpacingMs` apart so a long
 *     outage never turns into a storm; older ones stay misfired.
 *   - skip: none runs; the trigger moves on to its next fire after the outage.
 * A non-final chunk holds back the fires the policy may run (it walks `maxMissedPerPlan` plus that many
 * and records only the first `maxMissedPerPlan`), so the policy always sees the outage's true tail.
 * Fires that came due after the decision are judged afresh on the next pass.
 */
import type { DueTrigger, FireToRecord, TriggerAdvance } from '../store/fire-store.js';
import type { Schedule } from '../time/schedule.js';

export type MisfirePolicy = 'fire-once-now' | 'fire-all' | 'skip';

export interface PlanTrigger {
  /** The stored next fire; null when the trigger had none (complete) before a replan. */
  nextFireAt: Date | null;
  /** The last recorded fire's scheduled time: the floor no next fire may reach. */
  previousFireAt: Date | null;
  startAt: Date | null;
  timesFired: number;
  maxFires: number | null;
  endAt: Date | null;
  misfirePolicy: MisfirePolicy;
  misfireThresholdMs: number;
  /** Set when the schedule changed since the last plan: the database time of the change. */
  replanAt: Date | null;
  /** Set while an outage is being walked: the database time the misfire was decided. */
  misfireUntil: Date | null;
}

/** A schedule a change replaced, and the database time it stopped governing (the change). */
export interface SupersededSchedule {
  schedule: Schedule;
  until: Date;
}

export interface PlanLimits {
  maxMissedPerPlan: number;
  catchUpMax: number;
  catchUpSpacingMs: number;
}

export const DEFAULT_PLAN_LIMITS: PlanLimits = {
  maxMissedPerPlan: 500,
  catchUpMax: 10,
  catchUpSpacingMs: 1_000,
};

export interface PlannedFire {
  scheduledAt: Date;
  /**
   * run: start now on this replica; catch-up: pending, any replica starts it after `delayMs`; skipped:
   * recorded as not run (the acquirer's, for a trigger it had to pause).
   */
  kind: 'run' | 'catch-up' | 'misfire' | 'skipped';
  delayMs: number;
  note: string | null;
}

export interface TriggerPlan {
  fires: PlannedFire[];
  nextFireAt: Date | null;
  /** How many of the planned fires count toward the trigger's `maxFires`. */
  fired: number;
  /** The outage still being walked (persisted so the next pass continues the same decision), or null. */
  misfireUntil: Date | null;
  /** The replan state to keep (the next fire, still in a superseded piece), or null to clear it. */
  replanAt: Date | null;
}

const ms = (date: Date) => date.getTime();

/** How many of an outage's most recent fires a policy may run. */
function policyRuns(policy: MisfirePolicy, limits: PlanLimits): number {
  return policy === 'skip' ? 0 : policy === 'fire-once-now' ? 1 : limits.catchUpMax;
}

export function planTrigger(
  trigger: PlanTrigger,
  schedule: Schedule,
  now: Date,
  limits: PlanLimits = DEFAULT_PLAN_LIMITS,
  superseded: readonly SupersededSchedule[] = [],
): TriggerPlan {
  const pieces = trigger.replanAt ? superseded : [];
  const governing = pieces.length > 0 ? piecewise(pieces, schedule) : schedule;
  const lastChange = pieces.length > 0 ? ms(pieces[pieces.length - 1]!.until) : -Infinity;
  const startFloor = trigger.startAt ? ms(trigger.startAt) - 1 : -Infinity;
  const following = (after: Date): Date | null => {
    const next = governing.next(new Date(Math.max(ms(after), startFloor)));
    return next && trigger.endAt && ms(next) > ms(trigger.endAt) ? null : next;
  };
  // The replan state stays while the next fire is still owed by a superseded schedule.
  const finish = (plan: Omit<TriggerPlan, 'replanAt'>): TriggerPlan => ({
    ...plan,
    replanAt: plan.nextFireAt && ms(plan.nextFireAt) <= lastChange ? plan.nextFireAt : null,
  });
  const remaining = trigger.maxFires === null ? Infinity : Math.max(0, trigger.maxFires - trigger.timesFired);
  const due = trigger.nextFireAt;
  let until = trigger.misfireUntil;

  if (trigger.replanAt) {
    if (due === null || ms(due) > ms(trigger.replanAt)) {
      const floor = Math.max(
        ms(trigger.replanAt),
        trigger.previousFireAt ? ms(trigger.previousFireAt) : -Infinity,
      );
      const next = remaining > 0 ? following(new Date(floor)) : null;
      return finish({ fires: [], nextFireAt: next, fired: 0, misfireUntil: null });
    }
    // Without superseded schedules only the kept fire is left of the old schedule: it is judged afresh.
    // With them the walk goes on through the old schedule's times, and an outage's decision still holds.
    if (pieces.length === 0) until = null;
  }
  if (due === null || remaining === 0)
    return { fires: [], nextFireAt: null, fired: 0, misfireUntil: null, replanAt: null };
  if (until !== null && ms(due) > ms(until)) until = null;

  if (until === null) {
    if (ms(now) - ms(due) <= trigger.misfireThresholdMs) {
      const nextFireAt = remaining > 1 ? following(due) : null;
      return finish({
        fires: [{ scheduledAt: due, kind: 'run', delayMs: 0, note: null }],
        nextFireAt,
        fired: 1,
        misfireUntil: null,
      });
    }
    until = now;
  }
  return finish(walkOutage(trigger, due, until, following, remaining, limits));
}

/**
 * The trigger's schedule across its changes: each superseded schedule governs the times after the
 * previous change up to and including its own `until`; the current one governs after the last change.
 */
export function piecewise(pieces: readonly SupersededSchedule[], current: Schedule): Schedule {
  return {
    spec: current.spec,
    next(after: Date): Date | null {
      let from = -Infinity;
      for (const piece of pieces) {
        const until = ms(piece.until);
        if (ms(after) < until) {
          const next = piece.schedule.next(new Date(Math.max(ms(after), from)));
          if (next && ms(next) <= until) return next;
        }
        from = Math.max(from, until);
      }
      return current.next(new Date(Math.max(ms(after), from)));
    },
  };
}

/** One chunk of an outage: fires scheduled from `due` up to `until`, the time the misfire was decided. */
function walkOutage(
  trigger: PlanTrigger,
  due: Date,
  until: Date,
  following: (after: Date) => Date | null,
  remaining: number,
  limits: PlanLimits,
): Omit<TriggerPlan, 'replanAt'> {
  const chunk = Math.max(1, limits.maxMissedPerPlan);
  const held = policyRuns(trigger.misfirePolicy, limits);
  const missed: Date[] = [];
  let after: Date | null = due;
  while (after && ms(after) <= ms(until) && missed.length < chunk + held) {
    missed.push(after);
    after = following(after);
  }
  const walkDone = after === null || ms(after) > ms(until);
  const note = (scheduledAt: Date) =>
    `misfired: ${Math.round((ms(until) - ms(scheduledAt)) / 1000)} s late ` +
    `(threshold ${trigger.misfireThresholdMs / 1000} s); policy ${trigger.misfirePolicy}`;
  const misfire = (scheduledAt: Date): PlannedFire => ({
    scheduledAt,
    kind: 'misfire',
    delayMs: 0,
    note: note(scheduledAt),
  });
  if (!walkDone) {
    // More of the outage follows: record the first chunk, hold back the tail the policy may run.
    const fires = missed.slice(0, chunk).map(misfire);
    const nextFireAt = missed.length > chunk ? missed[chunk]! : after;
    return { fires, nextFireAt, fired: 0, misfireUntil: until };
  }

  const fires = missed.map(misfire);
  const runs = Math.min(held, missed.length, remaining);
  for (let i = 0; i < runs; i += 1) {
    const index = missed.length - runs + i;
    fires[index] =
      trigger.misfirePolicy === 'fire-once-now'
        ? {
            scheduledAt: missed[index]!,
            kind: 'run',
            delayMs: 0,
            note: 'misfire policy fire-once-now: fired late',
          }
        : {
            scheduledAt: missed[index]!,
            kind: 'catch-up',
            delayMs: i * limits.catchUpSpacingMs,
            note: 'misfire policy fire-all: caught up',
          };
  }
  const exhausted = trigger.maxFires !== null && runs >= remaining;
  return { fires, nextFireAt: exhausted ? null : after, fired: runs, misfireUntil: null };
}

/** How a trigger's row moves after its plan (the `recordFires` advance). */
export function advanceOf(trigger: Pick<DueTrigger, 'id' | 'version'>, plan: TriggerPlan): TriggerAdvance {
  return {
    id: trigger.id,
    version: trigger.version,
    nextFireAt: plan.nextFireAt,
    previousFireAt: plan.fires[plan.fires.length - 1]?.scheduledAt ?? null,
    fired: plan.fired,
    state: plan.nextFireAt ? 'waiting' : 'complete',
    misfireUntil: plan.misfireUntil,
    pausedReason: null,
    replanAt: plan.replanAt,
  };
}

const STATUS_OF = {
  run: 'running',
  'catch-up': 'pending',
  misfire: 'misfired',
  skipped: 'skipped',
} as const satisfies Record<PlannedFire['kind'], FireToRecord['status']>;

/** The fire row a planned fire becomes. */
export function fireOf(
  trigger: Pick<DueTrigger, 'id' | 'name' | 'group' | 'job' | 'data'>,
  planned: PlannedFire,
  traceContext: Record<string, string> | null,
): FireToRecord {
  return {
    triggerId: trigger.id,
    triggerName: trigger.name,
    group: trigger.group,
    job: trigger.job,
    scheduledAt: planned.scheduledAt,
    data: trigger.data,
    status: STATUS_OF[planned.kind],
    delayMs: planned.delayMs,
    error: planned.note,
    traceContext,
  };
}

/** The error text of the history row written when a trigger is paused because it cannot be planned. */
export const UNPLANNABLE = 'paused: schedule failed';

/**
 * The advance and history row for a trigger whose schedule cannot be built: paused with the reason, its
 * due time recorded `skipped` (and taken as the last recorded fire, so a later replan resumes after it).
 * A fix (the calendar re-created, the trigger re-applied) records a replan, which resumes it.
 */
export function unplannableTrigger(
  trigger: DueTrigger,
  error: unknown,
): { advance: TriggerAdvance; fire: PlannedFire | null } {
  const reason = `schedule failed: ${error instanceof Error ? error.message : String(error)}`;
  const scheduledAt = trigger.nextFireAt;
  return {
    advance: {
      id: trigger.id,
      version: trigger.version,
      nextFireAt: null,
      previousFireAt: scheduledAt,
      fired: 0,
      state: 'paused',
      misfireUntil: null,
      pausedReason: reason,
      replanAt: null,
    },
    fire: scheduledAt ? { scheduledAt, kind: 'skipped', delayMs: 0, note: `paused: ${reason}` } : null,
  };
}
