/**
 * Reconcile: make the database hold what the definitions declare.
 *
 * `planApply` reads the database and reports the difference (nothing is written). `applyPlan` applies
 * it in ONE transaction under the definitions advisory lock, re-planning inside the lock: N replicas
 * starting at once with the same files take turns, the first writes and the others find everything
 * unchanged. Any failure rolls the whole apply back.
 *
 * Next fire times: a new trigger starts from the database's now (`next(max(now, start - 1ms))`, capped
 * by `end`). A trigger whose schedule changed only records the change (`replan_at`, and the spec it
 * replaces in `superseded_schedules`, so the old schedule's times up to the change stay owed); the fire planner
 * decides its next fire under the acquisition lock (architecture invariant 6), so an apply racing the
 * acquirer can neither skip a due fire nor repeat a recorded one. A trigger whose schedule is unchanged
 * keeps its next fire time, so re-applying, or changing only priority or data, never shifts or repeats
 * a fire.
 */
import { inTransaction, type Executor } from '../store/executor.js';
import {
  databaseNow,
  deleteCalendar,
  deleteJob,
  deleteTriggers,
  insertTriggers,
  listCalendars,
  listJobs,
  listTriggers,
  notifyTriggersChanged,
  setTriggersPaused,
  updateTrigger,
  upsertCalendar,
  upsertJob,
  type TriggerRecord,
} from '../store/definition-store.js';
import { countUnfinishedExecutions, lockJobsForDelete } from '../store/prune-store.js';
import { lockDefinitions } from '../store/reconcile-store.js';
import type { CalendarResolver } from '../time/calendar.js';
import { compileSchedule, type ScheduleSpec } from '../time/schedule.js';
import { definitionsCalendarResolver, YAML_SOURCE, type Definitions } from './definitions.js';
import { pruneImpact, PruneRefusedError, type PruneRefusal } from './prune-impact.js';
import { diffDefinitions, type PlanEntry, type StoredDefinitions } from './reconcile-diff.js';

export interface ApplyOptions {
  /** Delete what the definitions no longer declare (only rows that came from YAML). Default false. */
  prune?: boolean;
  /**
   * With prune: also delete the non-YAML triggers (API one-offs, code) of a pruned job, which are
   * otherwise a reason to refuse. Never deletes a calendar in use. Default false.
   */
  force?: boolean;
}

export interface ApplyPlan {
  definitions: Definitions;
  prune: boolean;
  force: boolean;
  /** Everything the apply writes or deletes, including triggers deleted with a pruned job. */
  entries: PlanEntry[];
  /** Why the apply must not happen; applying a plan with refusals throws PruneRefusedError. */
  refusals: PruneRefusal[];
}

export async function planApply(
  executor: Executor,
  definitions: Definitions,
  options: ApplyOptions = {},
): Promise<ApplyPlan> {
  const plan = planAgainst(await readStored(executor), definitions, options);
  const prunedJobs = plan.entries.filter((entry) => entry.type === 'job' && entry.action === 'remove');
  if (prunedJobs.length > 0) {
    // Fires and executions outlive a pruned job (history), but its unfinished ones lose the job.
    const unfinished = await countUnfinishedExecutions(executor, {
      jobs: prunedJobs.map((entry) => entry.name),
    });
    for (const entry of prunedJobs) {
      const count = unfinished.get(entry.name);
      if (count) entry.unfinishedExecutions = count;
    }
  }
  return plan;
}

/** The plan against a given database state (an empty one when the schema does not exist yet). */
export function planAgainst(
  stored: StoredDefinitions,
  definitions: Definitions,
  options: ApplyOptions = {},
): ApplyPlan {
  const prune = options.prune ?? false;
  const force = options.force ?? false;
  const entries = diffDefinitions(stored, definitions, { prune });
  const { cascades, refusals } = prune
    ? pruneImpact(stored, definitions, entries, { force })
    : { cascades: [], refusals: [] };
  return { definitions, prune, force, entries: [...entries, ...cascades], refusals };
}

export const EMPTY_STORED: StoredDefinitions = { jobs: [], triggers: [], calendars: [] };

/**
 * Applies a plan's definitions (re-planned inside the lock; the plan's entries are not trusted, the
 * database may have moved since). Returns what was actually applied.
 */
export async function applyPlan(
  executor: Executor,
  plan: Pick<ApplyPlan, 'definitions' | 'prune'> & { force?: boolean },
): Promise<ApplyPlan> {
  return applyDefinitions(executor, plan.definitions, { prune: plan.prune, force: plan.force });
}

/** Plans and applies in one locked transaction (what `belfry start` and `belfry apply` do). */
export async function applyDefinitions(
  executor: Executor,
  definitions: Definitions,
  options: ApplyOptions = {},
): Promise<ApplyPlan> {
  return inTransaction(executor, async (tx) => {
    await lockDefinitions(tx);
    let plan = await planApply(tx, definitions, options);
    const prunedJobs = plan.entries.filter((entry) => entry.type === 'job' && entry.action === 'remove');
    if (prunedJobs.length > 0) {
      // Then read again: no trigger can be added to these jobs until this transaction ends, so the
      // triggers the cascade deletes are exactly the ones this plan lists.
      await lockJobsForDelete(tx, { names: prunedJobs.map((entry) => entry.name) });
      plan = await planApply(tx, definitions, options);
    }
    if (plan.refusals.length > 0) throw new PruneRefusedError(plan);
    if (!planHasChanges(plan)) return plan;
    const now = await databaseNow(tx);
    const calendars = definitionsCalendarResolver(definitions);
    const byName = <T extends { name: string }>(items: T[]) =>
      new Map(items.map((item) => [item.name, item]));
    const calendarDefs = byName(definitions.calendars);
    const jobDefs = byName(definitions.jobs);
    const triggerDefs = byName(definitions.triggers);
    const entries = (type: PlanEntry['type'], ...actions: PlanEntry['action'][]) =>
      plan.entries.filter((entry) => entry.type === type && actions.includes(entry.action));

    for (const entry of entries('calendar', 'add', 'change')) {
      await upsertCalendar(tx, {
        name: entry.name,
        spec: calendarDefs.get(entry.name)!.spec,
        source: YAML_SOURCE,
      });
    }
    for (const entry of entries('job', 'add', 'change')) {
      await upsertJob(tx, jobDefs.get(entry.name)!.record);
    }
    const added = entries('trigger', 'add').map((entry) => {
      const { record } = triggerDefs.get(entry.name)!;
      const nextFireAt = firstFireAt(record, now, calendars);
      entry.nextFireAt = nextFireAt?.toISOString() ?? null;
      return { trigger: record, nextFireAt, paused: entry.setPaused === true };
    });
    // New triggers in multi-row statements (an apply of 100,000 triggers: docs/performance.md).
    await insertTriggers(tx, { triggers: added });
    // Changed triggers: one statement each, and one NOTIFY for them all (sent in this transaction, so
    // delivered at its commit like the per-update ones were).
    let updated = false;
    for (const entry of entries('trigger', 'change')) {
      const { record } = triggerDefs.get(entry.name)!;
      if (entry.reschedule) {
        await updateTrigger(tx, { trigger: record, reschedule: true, notify: false });
        updated = true;
        // A preview for the plan's reader only; the planner decides the stored next fire.
        entry.nextFireAt = firstFireAt(record, now, calendars)?.toISOString() ?? null;
      } else if (entry.changes.some((change) => change.field !== 'paused')) {
        await updateTrigger(tx, { trigger: record, notify: false });
        updated = true;
      }
      if (entry.setPaused !== undefined)
        await setTriggersPaused(tx, { target: { trigger: entry.name }, paused: entry.setPaused });
    }
    if (updated) await notifyTriggersChanged(tx);

    // Prune in dependency order: triggers, then jobs, then calendars.
    await deleteTriggers(tx, { names: entries('trigger', 'remove').map((entry) => entry.name) });
    for (const entry of entries('job', 'remove')) await deleteJob(tx, { name: entry.name });
    for (const entry of entries('calendar', 'remove')) await deleteCalendar(tx, { name: entry.name });
    return plan;
  });
}

export function planHasChanges(plan: Pick<ApplyPlan, 'entries'>): boolean {
  return plan.entries.some(
    (entry) => entry.action === 'add' || entry.action === 'change' || entry.action === 'remove',
  );
}

/** The first fire of a (new or rescheduled) trigger from `now`: not before its start, not after its end. */
export function firstFireAt(record: TriggerRecord, now: Date, calendars: CalendarResolver): Date | null {
  const schedule = compileSchedule(record.spec as ScheduleSpec, { calendars });
  const after =
    record.startAt && record.startAt.getTime() - 1 > now.getTime()
      ? new Date(record.startAt.getTime() - 1)
      : now;
  const next = schedule.next(after);
  if (next === null || (record.endAt && next.getTime() > record.endAt.getTime())) return null;
  return next;
}

async function readStored(executor: Executor): Promise<StoredDefinitions> {
  // One after the other: inside a transaction they share one connection anyway.
  const jobs = await listJobs(executor);
  const triggers = await listTriggers(executor, { includeComplete: true });
  const calendars = await listCalendars(executor);
  return { jobs, triggers, calendars };
}
