/**
 * Reconcile: make the database hold what the definitions declare.
 *
 * `planApply` reads the database and reports the difference (nothing is written). `applyPlan` applies
 * it in ONE transaction under the definitions advisory lock, re-planning inside the lock: N replicas
 * starting at once with the same files take turns, the first writes and the others find everything
 * unchanged. Any failure rolls the whole apply back.
 *
 * Next fire times: a new trigger, or one whose schedule changed, starts from the database's now
 * (`next(max(now, start - 1ms))`, capped by `end`); a trigger whose schedule is unchanged keeps its next
 * fire time, so re-applying, or changing only priority or data, never shifts or repeats a fire.
 */
import { inTransaction, type Executor } from '../store/executor.js';
import {
  databaseNow,
  deleteCalendar,
  deleteJob,
  deleteTriggers,
  insertTrigger,
  listCalendars,
  listJobs,
  listTriggers,
  setTriggersPaused,
  updateTrigger,
  upsertCalendar,
  upsertJob,
  type TriggerRecord,
} from '../store/definition-store.js';
import { lockDefinitions } from '../store/reconcile-store.js';
import type { CalendarResolver } from '../time/calendar.js';
import { compileSchedule, type ScheduleSpec } from '../time/schedule.js';
import { definitionsCalendarResolver, YAML_SOURCE, type Definitions } from './definitions.js';
import { diffDefinitions, type PlanEntry, type StoredDefinitions } from './reconcile-diff.js';

export interface ApplyOptions {
  /** Delete what the definitions no longer declare (only rows that came from YAML). Default false. */
  prune?: boolean;
}

export interface ApplyPlan {
  definitions: Definitions;
  prune: boolean;
  entries: PlanEntry[];
}

export async function planApply(
  executor: Executor,
  definitions: Definitions,
  options: ApplyOptions = {},
): Promise<ApplyPlan> {
  const prune = options.prune ?? false;
  return { definitions, prune, entries: diffDefinitions(await readStored(executor), definitions, { prune }) };
}

/**
 * Applies a plan's definitions (re-planned inside the lock; the plan's entries are not trusted, the
 * database may have moved since). Returns what was actually applied.
 */
export async function applyPlan(
  executor: Executor,
  plan: Pick<ApplyPlan, 'definitions' | 'prune'>,
): Promise<ApplyPlan> {
  return applyDefinitions(executor, plan.definitions, { prune: plan.prune });
}

/** Plans and applies in one locked transaction (what `belfry start` and `belfry apply` do). */
export async function applyDefinitions(
  executor: Executor,
  definitions: Definitions,
  options: ApplyOptions = {},
): Promise<ApplyPlan> {
  return inTransaction(executor, async (tx) => {
    await lockDefinitions(tx);
    const plan = await planApply(tx, definitions, options);
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
    for (const entry of entries('trigger', 'add', 'change')) {
      const { record } = triggerDefs.get(entry.name)!;
      if (entry.action === 'add') {
        const nextFireAt = firstFireAt(record, now, calendars);
        await insertTrigger(tx, { trigger: record, nextFireAt, paused: entry.setPaused === true });
        entry.nextFireAt = nextFireAt?.toISOString() ?? null;
        continue;
      }
      if (entry.reschedule) {
        const nextFireAt = firstFireAt(record, now, calendars);
        await updateTrigger(tx, { trigger: record, reschedule: { nextFireAt } });
        entry.nextFireAt = nextFireAt?.toISOString() ?? null;
      } else if (entry.changes.some((change) => change.field !== 'paused')) {
        await updateTrigger(tx, { trigger: record });
      }
      if (entry.setPaused !== undefined)
        await setTriggersPaused(tx, { target: { trigger: entry.name }, paused: entry.setPaused });
    }

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
