/**
 * Plans the triggers one acquisition has locked: each trigger's fires and advance, from its compiled
 * schedule, against the database time the lock read. Two edge cases live here.
 *
 * - A replan (a schedule or calendar change) is planned against the calendars as this transaction sees
 *   them, not as the last NOTIFY left them: a replica that ticks before the change's NOTIFY arrives must
 *   not plan on a stale calendar (or pause a trigger whose calendar was just fixed). The calendars are
 *   synced at most once per batch: up front when the batch holds a replan, else on the first schedule
 *   that fails to compile, which is then compiled again.
 * - A trigger whose spec no longer compiles (a calendar was deleted, say) must not block the rest, and
 *   must not end silently: it is paused with the reason, and its due time gets a history row.
 */
import type { Logger } from 'pino';
import { calendarsStamp } from '../store/definition-store.js';
import type { Executor } from '../store/executor.js';
import type { DueTrigger, FireToRecord, TriggerAdvance } from '../store/fire-store.js';
import { advanceOf, fireOf, planTrigger, unplannableTrigger, type PlanLimits } from './fire-planner.js';
import type { FireRecording } from './fire-recording.js';
import type { ScheduleCache } from './schedule-cache.js';

export interface BatchPlanContext {
  /** The acquisition transaction (it reads the calendars' stamp). */
  tx: Executor;
  schedules: ScheduleCache;
  planLimits: PlanLimits;
  logger: Logger;
  /** Starts each planned fire's span. */
  recording: FireRecording;
  /** Reloads the calendars `schedules` compiles with, when the stored calendars' stamp differs. */
  syncCalendars?: ((stamp: string) => Promise<void>) | undefined;
}

export interface PlannedBatch {
  advances: TriggerAdvance[];
  fires: FireToRecord[];
  /** A trigger's next fire is already due: more work waits right after this batch. */
  nextDue: boolean;
}

export async function planBatch(
  due: readonly DueTrigger[],
  context: BatchPlanContext,
): Promise<PlannedBatch> {
  const { schedules, logger, recording } = context;
  const advances: TriggerAdvance[] = [];
  const fires: FireToRecord[] = [];
  let nextDue = false;
  let calendarsSynced = false;
  const syncCalendars = async () => {
    if (calendarsSynced || !context.syncCalendars) return false;
    calendarsSynced = true;
    await context.syncCalendars(await calendarsStamp(context.tx));
    return true;
  };
  if (due.some((trigger) => trigger.replanAt !== null)) await syncCalendars();
  for (const trigger of due) {
    let plan;
    try {
      let compiled;
      try {
        compiled = { schedule: schedules.schedule(trigger), superseded: schedules.superseded(trigger) };
      } catch (error) {
        if (!(await syncCalendars())) throw error;
        compiled = { schedule: schedules.schedule(trigger), superseded: schedules.superseded(trigger) };
      }
      plan = planTrigger(trigger, compiled.schedule, trigger.dbNow, context.planLimits, compiled.superseded);
    } catch (error) {
      const unplannable = unplannableTrigger(trigger, error);
      logger.error(
        { err: error, trigger: trigger.name, reason: unplannable.advance.pausedReason },
        'trigger schedule failed; pausing trigger',
      );
      advances.push(unplannable.advance);
      if (unplannable.fire) fires.push(fireOf(trigger, unplannable.fire, null));
      continue;
    }
    if (plan.nextFireAt && plan.nextFireAt.getTime() <= trigger.dbNow.getTime()) nextDue = true;
    advances.push(advanceOf(trigger, plan));
    for (const planned of plan.fires)
      fires.push(fireOf(trigger, planned, recording.startSpan(trigger, planned.scheduledAt)));
  }
  return { advances, fires, nextDue };
}
