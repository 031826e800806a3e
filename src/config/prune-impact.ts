/**
 * What a prune really deletes, and what it must refuse to delete: pure, no I/O.
 *
 * The diff (reconcile-diff.ts) lists the YAML rows that are in no file any more. Deleting them reaches
 * further than those rows, and the plan must show all of it:
 *   - a job's triggers go with it (`triggers.job_name … ON DELETE CASCADE`), including triggers that
 *     did not come from YAML: one-offs from the API (`fireNow`, `belfry fire`) and rows written by code.
 *     Each is listed as a removal of its own, with its source and state.
 *   - fires and executions are NOT deleted: `fires.trigger_id` is set to null, so history (and pending
 *     retries, which name their job) outlives the definitions.
 *
 * Refusals, decided on the state the database will have after the apply:
 *   - a job that non-YAML triggers still need (waiting or paused; a complete one-off needs nothing) is
 *     kept unless `force` is given; with `force`, those triggers are deleted and listed.
 *   - a calendar that a surviving trigger or calendar (as its base) still uses is never deleted, with
 *     or without `force`: a trigger whose calendar vanished stops compiling, which is a silent outage,
 *     and deleting the user instead is not what "prune the calendar" asked for.
 */
import type { CalendarSpec } from '../time/calendar.js';
import type { ScheduleSpec } from '../time/schedule.js';
import type { Definitions } from './definitions.js';
import { scheduleSummary, type PlanEntry, type StoredDefinitions } from './reconcile-diff.js';
import { BelfryError } from '../errors/belfry-error.js';

export interface PruneRefusal {
  type: 'job' | 'calendar';
  name: string;
  /** One line: what is refused, what depends on it, and what would let it through. */
  message: string;
}

export interface PruneImpact {
  /** Triggers deleted with a pruned job that the diff did not list themselves. */
  cascades: PlanEntry[];
  refusals: PruneRefusal[];
}

export function pruneImpact(
  stored: StoredDefinitions,
  definitions: Definitions,
  entries: readonly PlanEntry[],
  options: { force: boolean },
): PruneImpact {
  const removed = (type: PlanEntry['type']) =>
    new Set(entries.filter((entry) => entry.type === type && entry.action === 'remove').map((e) => e.name));
  const removedJobs = removed('job');
  const removedTriggers = removed('trigger');
  const removedCalendars = removed('calendar');
  const definedTriggers = new Map(definitions.triggers.map((trigger) => [trigger.name, trigger.record]));

  const cascades: PlanEntry[] = [];
  const refusals: PruneRefusal[] = [];
  const needed = new Map<string, string[]>();
  for (const trigger of stored.triggers) {
    // A defined trigger keeps (or takes over) its row and names a job the files define.
    if (definedTriggers.has(trigger.name) || removedTriggers.has(trigger.name)) continue;
    if (!removedJobs.has(trigger.job)) continue;
    cascades.push({
      type: 'trigger',
      name: trigger.name,
      action: 'remove',
      summary: scheduleSummary(trigger.spec as ScheduleSpec),
      changes: [],
      source: trigger.source,
      state: trigger.state,
      cascadeFrom: { type: 'job', name: trigger.job },
    });
    if (trigger.state !== 'complete') {
      needed.set(trigger.job, [
        ...(needed.get(trigger.job) ?? []),
        `${trigger.name} (${trigger.source}, ${trigger.state})`,
      ]);
    }
  }
  if (!options.force) {
    for (const [job, users] of needed) {
      refusals.push({
        type: 'job',
        name: job,
        message: `cannot prune job ${job}: ${users.length === 1 ? 'trigger' : 'triggers'} not from YAML still ${users.length === 1 ? 'uses' : 'use'} it: ${users.join(', ')}; delete ${users.length === 1 ? 'it' : 'them'} first, or pass --force to delete ${users.length === 1 ? 'it' : 'them'} with the job`,
      });
    }
  }

  // Calendars: who uses each one once the apply is done (defined rows as the files say, the others as
  // stored, minus everything this apply deletes).
  const cascaded = new Set(cascades.map((entry) => entry.name));
  const users = new Map<string, string[]>();
  const use = (calendar: string | null | undefined, user: string) => {
    if (calendar && removedCalendars.has(calendar))
      users.set(calendar, [...(users.get(calendar) ?? []), user]);
  };
  for (const [name, record] of definedTriggers) use(triggerCalendar(record), `trigger ${name} (yaml)`);
  for (const trigger of stored.triggers) {
    if (definedTriggers.has(trigger.name) || removedTriggers.has(trigger.name) || cascaded.has(trigger.name))
      continue;
    use(triggerCalendar(trigger), `trigger ${trigger.name} (${trigger.source})`);
  }
  const definedCalendars = new Map(definitions.calendars.map((calendar) => [calendar.name, calendar.spec]));
  const calendars = new Map<string, CalendarSpec>(
    stored.calendars
      .filter((calendar) => !removedCalendars.has(calendar.name))
      .map((calendar) => [calendar.name, calendar.spec as CalendarSpec]),
  );
  for (const [name, spec] of definedCalendars) calendars.set(name, spec);
  for (const [name, spec] of calendars) use(spec.base, `calendar ${name} (base)`);
  for (const [calendar, list] of users) {
    refusals.push({
      type: 'calendar',
      name: calendar,
      message: `cannot prune calendar ${calendar}: still used by ${list.join(', ')}; a calendar in use is never deleted, not even with --force`,
    });
  }
  return { cascades, refusals };
}

/** The calendar a trigger's schedule uses: the column, or the spec for rows written before it existed. */
function triggerCalendar(trigger: { calendarName: string | null; spec: unknown }): string | null {
  if (trigger.calendarName) return trigger.calendarName;
  const spec = trigger.spec as { calendar?: unknown } | null;
  return typeof spec?.calendar === 'string' ? spec.calendar : null;
}

/**
 * The part of an apply plan a refusal reports. Spelled out here rather than picked from ApplyPlan, so this
 * module does not import the reconciler that imports it (an import cycle).
 */
export interface RefusedPlan {
  entries: PlanEntry[];
  refusals: PruneRefusal[];
  prune: boolean;
  force: boolean;
}

/** An apply that would delete what something else still needs; nothing was written. */
export class PruneRefusedError extends BelfryError {
  constructor(readonly plan: RefusedPlan) {
    super('BELFRY_ERR_PRUNE_REFUSED', plan.refusals.map((refusal) => refusal.message).join('\n'));
  }
}
