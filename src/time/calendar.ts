/**
 * Exclusion calendars, the Quartz set: holiday (dates), annual (a month and day every year), weekly
 * (weekdays), monthly (days of the month), daily (a time range each day) and cron (times matching an
 * expression). A calendar may chain a base calendar by name: a time is included only when the calendar
 * and its whole base chain include it.
 *
 * Each calendar judges time in its own zone (`timezone`). A calendar without one is *floating*: it is
 * judged in the zone of the schedule that uses it (`inZone`), which is what a list of dates usually means.
 *
 * Specs are plain JSON (from YAML, from the shipped files in `calendars/`, or from an .ics import).
 */
import { localRuleOf, type LocalExclusionRule } from './calendar-rules.js';
import type { CalendarSpec } from './calendar-spec.js';
import { ScheduleError } from './schedule-error.js';
import { instantOfLocal } from './wall-clock-schedule.js';
import { ZoneRules } from './zone-rules.js';
import { IANAZone } from 'luxon';

// The specs are a leaf (calendar-spec.ts) that the per-kind rules read too; calendar.js stays their front door.
export type {
  AnnualCalendarSpec,
  CalendarSpec,
  CronCalendarSpec,
  DailyCalendarSpec,
  HolidayCalendarSpec,
  MonthlyCalendarSpec,
  NamedDate,
  WeeklyCalendarSpec,
} from './calendar-spec.js';

/** Why a time is excluded: which calendar (in a chain) and which rule or holiday. */
export interface CalendarExclusion {
  calendar: string;
  kind: CalendarSpec['kind'];
  reason: string;
}

export interface Calendar {
  readonly name: string;
  readonly spec: CalendarSpec;
  /** The zone this calendar judges time in (for a floating one: the zone it was bound to, UTC by default). */
  readonly timezone: string;
  readonly floating: boolean;
  /** Whether the instant (ms) is included by this calendar and its base chain. */
  isTimeIncluded(ms: number): boolean;
  /** Why the instant is excluded (the first calendar in the chain that excludes it), or null. */
  exclusionAt(ms: number): CalendarExclusion | null;
  /** An instant >= ms such that every instant in [ms, result) is excluded; ms itself when ms is included. */
  skipExcluded(ms: number): number;
  /** This calendar judged in `zone` when it (or its base chain) is floating; itself otherwise. */
  inZone(zone: string): Calendar;
}

/** Looks up a calendar by name (user-defined or shipped). */
export type CalendarResolver = (name: string) => Calendar | undefined;

/**
 * Validates and compiles a calendar spec. `resolve` finds its base calendar; `name` labels explanations.
 * Throws ScheduleError (field `calendar`) when the spec is invalid or its base does not resolve.
 */
export function compileCalendar(
  spec: CalendarSpec,
  resolve: CalendarResolver,
  name: string = spec.kind,
): Calendar {
  if (spec.timezone !== undefined && !IANAZone.isValidZone(spec.timezone)) {
    throw new ScheduleError(`calendar "${name}" has an unknown time zone "${spec.timezone}"`, 'calendar');
  }
  let base: Calendar | undefined;
  if (spec.base !== undefined) {
    base = resolve(spec.base);
    if (!base)
      throw new ScheduleError(
        `calendar "${name}" names base calendar "${spec.base}", which is not defined`,
        'calendar',
      );
  }
  return new ZonedCalendar(name, spec, localRuleOf(spec), spec.timezone, base);
}

class ZonedCalendar implements Calendar {
  readonly timezone: string;
  readonly floating: boolean;
  private readonly zone: ZoneRules;
  private readonly bound = new Map<string, Calendar>();

  constructor(
    readonly name: string,
    readonly spec: CalendarSpec,
    private readonly rule: LocalExclusionRule,
    ownZone: string | undefined,
    private readonly base: Calendar | undefined,
    boundZone = 'UTC',
  ) {
    this.timezone = ownZone ?? boundZone;
    this.floating = ownZone === undefined || (base?.floating ?? false);
    this.zone = ZoneRules.for(this.timezone);
  }

  isTimeIncluded(ms: number): boolean {
    if (this.rule.reasonAt(this.zone.toLocal(ms)) !== null) return false;
    return this.base ? this.base.isTimeIncluded(ms) : true;
  }

  exclusionAt(ms: number): CalendarExclusion | null {
    const reason = this.rule.reasonAt(this.zone.toLocal(ms));
    if (reason !== null) return { calendar: this.name, kind: this.spec.kind, reason };
    return this.base ? this.base.exclusionAt(ms) : null;
  }

  skipExcluded(ms: number): number {
    const local = this.zone.toLocal(ms);
    if (this.rule.reasonAt(local) !== null) {
      return Math.max(ms + 1, instantOfLocal(this.zone, this.rule.excludedUntil(local)));
    }
    return this.base ? this.base.skipExcluded(ms) : ms;
  }

  inZone(zone: string): Calendar {
    if (!this.floating) return this;
    let calendar = this.bound.get(zone);
    if (!calendar) {
      const ownZone = this.spec.timezone;
      calendar = new ZonedCalendar(this.name, this.spec, this.rule, ownZone, this.base?.inZone(zone), zone);
      this.bound.set(zone, calendar);
    }
    return calendar;
  }
}
