/**
 * Decides what an acquired trigger does now: pure, no I/O, time passed in (the database's now).
 *
 * On time (no later than the trigger's misfire threshold): the due fire runs and the trigger advances
 * from that *scheduled* time, so a slow replica never drifts a schedule. A fire that is still due after
 * advancing is picked up again at once by the acquirer, so a short outage is caught up fire by fire.
 *
 * Misfired (later than the threshold: every replica was down, the database was down, the trigger was
 * paused): every missed fire time is recorded as `misfired`, then the trigger's policy applies to the
 * most recent ones:
 *   - fire-once-now (default): the most recent missed fire runs now; the others stay misfired.
 *   - fire-all: the most recent `catchUpMax` missed fires run, spread `catchUpSpacingMs` apart so a long
 *     outage never turns into a storm; older ones stay misfired.
 *   - skip: none runs; the trigger moves on to its next future fire.
 * Missed fires are walked in chunks of `maxMissedPerPlan`, so one transaction stays small however long
 * the outage; the trigger stays due and the next acquisition continues the walk.
 */
import type { DueTrigger, FireToRecord, TriggerAdvance } from '../store/fire-store.js';
import type { Schedule } from '../time/schedule.js';

export type MisfirePolicy = 'fire-once-now' | 'fire-all' | 'skip';

export interface PlanTrigger {
  nextFireAt: Date;
  timesFired: number;
  maxFires: number | null;
  endAt: Date | null;
  misfirePolicy: MisfirePolicy;
  misfireThresholdMs: number;
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
  /** run: start now on this replica; catch-up: pending, any replica starts it after `delayMs`. */
  kind: 'run' | 'catch-up' | 'misfire';
  delayMs: number;
  note: string | null;
}

export interface TriggerPlan {
  fires: PlannedFire[];
  nextFireAt: Date | null;
  /** How many of the planned fires count toward the trigger's `maxFires`. */
  fired: number;
}

export function planTrigger(
  trigger: PlanTrigger,
  schedule: Schedule,
  now: Date,
  limits: PlanLimits = DEFAULT_PLAN_LIMITS,
): TriggerPlan {
  const following = (after: Date): Date | null => {
    const next = schedule.next(after);
    return next && trigger.endAt && next.getTime() > trigger.endAt.getTime() ? null : next;
  };
  const remaining = trigger.maxFires === null ? Infinity : Math.max(0, trigger.maxFires - trigger.timesFired);
  const due = trigger.nextFireAt;
  const lateMs = now.getTime() - due.getTime();

  if (lateMs <= trigger.misfireThresholdMs) {
    if (remaining === 0) return { fires: [], nextFireAt: null, fired: 0 };
    const nextFireAt = remaining > 1 ? following(due) : null;
    return { fires: [{ scheduledAt: due, kind: 'run', delayMs: 0, note: null }], nextFireAt, fired: 1 };
  }

  const missed: Date[] = [];
  let after: Date | null = due;
  while (after && after.getTime() <= now.getTime() && missed.length < limits.maxMissedPerPlan) {
    missed.push(after);
    after = following(after);
  }
  const walkDone = after === null || after.getTime() > now.getTime();
  const note = (policy: string) =>
    `misfired: ${Math.round(lateMs / 1000)} s late (threshold ${trigger.misfireThresholdMs / 1000} s); policy ${policy}`;
  const fires: PlannedFire[] = missed.map((scheduledAt) => ({
    scheduledAt,
    kind: 'misfire' as const,
    delayMs: 0,
    note: note(trigger.misfirePolicy),
  }));
  if (!walkDone) return { fires, nextFireAt: after, fired: 0 };

  let runs = 0;
  if (trigger.misfirePolicy === 'fire-once-now' && remaining > 0) {
    fires[fires.length - 1] = {
      scheduledAt: missed[missed.length - 1]!,
      kind: 'run',
      delayMs: 0,
      note: 'misfire policy fire-once-now: fired late',
    };
    runs = 1;
  } else if (trigger.misfirePolicy === 'fire-all') {
    runs = Math.min(limits.catchUpMax, missed.length, remaining);
    for (let i = 0; i < runs; i += 1) {
      const index = missed.length - runs + i;
      fires[index] = {
        scheduledAt: missed[index]!,
        kind: 'catch-up',
        delayMs: i * limits.catchUpSpacingMs,
        note: 'misfire policy fire-all: caught up',
      };
    }
  }
  const exhausted = trigger.maxFires !== null && runs >= remaining;
  return { fires, nextFireAt: exhausted ? null : after, fired: runs };
}

/** How a trigger's row moves after its plan (the `recordFires` advance). */
export function advanceOf(triggerId: string, plan: TriggerPlan): TriggerAdvance {
  return {
    id: triggerId,
    nextFireAt: plan.nextFireAt,
    previousFireAt: plan.fires[plan.fires.length - 1]?.scheduledAt ?? null,
    fired: plan.fired,
    state: plan.nextFireAt ? 'waiting' : 'complete',
  };
}

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
    status: planned.kind === 'run' ? 'running' : planned.kind === 'catch-up' ? 'pending' : 'misfired',
    delayMs: planned.delayMs,
    error: planned.note,
    traceContext,
  };
}
