/**
 * The compiled schedules of the triggers this replica acquires, kept by trigger and version: compiling a
 * cron or calendar spec costs far more than planning with it, and a trigger's spec (or its pending
 * replan's superseded specs) changes only with its version. A calendar change makes every entry stale:
 * `clear()` drops them all.
 */
import type { DueTrigger } from '../store/fire-store.js';
import { compileSchedule, type Schedule, type ScheduleSpec } from '../time/schedule.js';
import type { SupersededSchedule } from './fire-planner.js';

/** Builds the schedule of a stored trigger (its calendars resolved). */
export type CompileSchedule = (spec: ScheduleSpec, trigger: DueTrigger) => Schedule;

/** Past this many entries a map is dropped whole rather than grow without bound. */
const MAX_SCHEDULES = 100_000;
const MAX_SUPERSEDED = 10_000;

export class ScheduleCache {
  readonly #schedules = new Map<string, { version: number; schedule: Schedule }>();
  /** The superseded schedules of triggers with a pending replan, compiled like #schedules. */
  readonly #superseded = new Map<string, { version: number; schedules: SupersededSchedule[] }>();
  readonly #compile: CompileSchedule;

  constructor(compile?: CompileSchedule) {
    this.#compile = compile ?? ((spec) => compileSchedule(spec));
  }

  /** The trigger's current schedule; throws when its spec does not compile (a calendar was deleted, say). */
  schedule(trigger: DueTrigger): Schedule {
    const cached = this.#schedules.get(trigger.id);
    if (cached && cached.version === trigger.version) return cached.schedule;
    const schedule = this.#compile(trigger.spec as ScheduleSpec, trigger);
    this.#schedules.set(trigger.id, { version: trigger.version, schedule });
    if (this.#schedules.size > MAX_SCHEDULES) this.#schedules.clear();
    return schedule;
  }

  /** The schedules a pending change replaced (each governs up to its change), compiled once per version. */
  superseded(trigger: DueTrigger): SupersededSchedule[] {
    if (!trigger.replanAt || !trigger.supersededSchedules?.length) return [];
    const cached = this.#superseded.get(trigger.id);
    if (cached && cached.version === trigger.version) return cached.schedules;
    const schedules = trigger.supersededSchedules.map((piece) => ({
      schedule: this.#compile(piece.spec as ScheduleSpec, trigger),
      until: new Date(piece.until),
    }));
    this.#superseded.set(trigger.id, { version: trigger.version, schedules });
    if (this.#superseded.size > MAX_SUPERSEDED) this.#superseded.clear();
    return schedules;
  }

  /** Drops every compiled schedule (calendars changed: schedules built on them are stale). */
  clear(): void {
    this.#schedules.clear();
    this.#superseded.clear();
  }
}
