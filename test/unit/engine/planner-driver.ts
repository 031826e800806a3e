/**
 * Drives the pure planner as the acquirer does: plan under the "lock", apply the advance to the row,
 * repeat while the trigger is still due. Shared by the outage and model-based tests.
 */
import {
  advanceOf,
  planTrigger,
  type PlanLimits,
  type PlanTrigger,
  type PlannedFire,
  type SupersededSchedule,
} from '../../../src/engine/fire-planner.js';
import type { Schedule } from '../../../src/time/schedule.js';

export interface DriveResult {
  fires: PlannedFire[];
  /** The trigger row after the last pass. */
  row: PlanTrigger;
  passes: number;
  /** The time of the last pass. */
  endedAt: Date;
}

/**
 * Passes start at `startAt` and each later pass happens `stepMs` after the previous one (the walk takes
 * time, so fires come due during it). Stops when the trigger is no longer due at the pass time.
 */
export function drive(
  initial: PlanTrigger,
  schedule: Schedule,
  options: {
    startAt: Date;
    stepMs?: number;
    limits: PlanLimits;
    maxPasses?: number;
    /** The schedules a pending change (`initial.replanAt`) replaced, as the acquirer compiles them. */
    superseded?: readonly SupersededSchedule[];
  },
): DriveResult {
  const row: PlanTrigger = { ...initial };
  const fires: PlannedFire[] = [];
  let now = options.startAt.getTime();
  let passes = 0;
  const due = () => row.replanAt !== null || (row.nextFireAt !== null && row.nextFireAt.getTime() <= now);
  while (due()) {
    if (passes >= (options.maxPasses ?? 100_000)) throw new Error('planner does not converge');
    const plan = planTrigger(row, schedule, new Date(now), options.limits, options.superseded);
    const advance = advanceOf({ id: '1', version: 1 }, plan);
    fires.push(...plan.fires);
    row.nextFireAt = advance.nextFireAt;
    if (advance.previousFireAt)
      row.previousFireAt =
        row.previousFireAt && row.previousFireAt > advance.previousFireAt
          ? row.previousFireAt
          : advance.previousFireAt;
    row.timesFired += advance.fired;
    row.misfireUntil = advance.misfireUntil;
    row.replanAt = advance.replanAt;
    passes += 1;
    if (advance.state === 'complete') break;
    now += options.stepMs ?? 0;
  }
  return { fires, row, passes, endedAt: new Date(now) };
}
