/**
 * Schedules: pure functions from a trigger's stored spec to its fire times. No I/O, no ambient time.
 *
 * A spec is plain JSON (it is stored in `triggers.spec`). `compileSchedule` validates it once and returns
 * a `Schedule` whose `next(after)` gives the first fire time strictly after `after`, or null when the
 * schedule is exhausted. The engine always asks from the previous *scheduled* time, never from "now", so
 * a late replica neither drifts nor silently drops a tick (misfires are an explicit policy, see
 * engine/fire-planner.ts).
 *
 * Fixed intervals (`interval`, `once`) run in absolute time. The wall-clock kinds (`cron`, `quartz`,
 * `calendar-interval`, `daily-interval`, `business-day`) keep local time in `timezone`, under the DST
 * policy `dst` (docs/time.md), and may name a `calendar` whose excluded times are skipped or moved
 * (`onExcludedDay`, see excluded-day-policy.ts).
 */
import { IANAZone } from 'luxon';
import { businessDaySequence, type BusinessDaySpec } from './business-day-schedule.js';
import type { CalendarResolver } from './calendar.js';
import { calendarIntervalSequence, type CalendarIntervalSpec } from './calendar-interval.js';
import { CronMatcher, type LocalSequence } from './cron-matcher.js';
import { parseCronExpression } from './cron-syntax.js';
import { dailyIntervalSequence, parseDayNames, type DailyIntervalSpec } from './daily-interval.js';
import { applyExcludedDayPolicy, type FireDetail } from './excluded-day-policy.js';
import { ScheduleError } from './schedule-error.js';
import { DEFAULT_DST_POLICY, nextWallClockFire, type DstPolicy } from './wall-clock-schedule.js';
import type { WallClockOptions } from './wall-clock-options.js';
import { ZoneRules } from './zone-rules.js';
import type { AfterSpec } from './after-spec.js';

export { ScheduleError } from './schedule-error.js';
export type { OnExcludedDay } from './excluded-day-policy.js';
// Each kind's spec lives beside the code that walks it; these names are the schedule module's surface.
export type { BusinessDaySpec } from './business-day-schedule.js';
export type { CalendarIntervalSpec } from './calendar-interval.js';
export type { DailyIntervalSpec } from './daily-interval.js';
export type { WallClockOptions } from './wall-clock-options.js';
export type { AfterSpec } from './after-spec.js';

export type ScheduleSpec =
  | CronSpec
  | QuartzSpec
  | IntervalSpec
  | OnceSpec
  | CalendarIntervalSpec
  | DailyIntervalSpec
  | BusinessDaySpec
  | AfterSpec;

/** Unix cron: 5 fields, or 6 with seconds first; day of week 0-7 with 0 and 7 = Sunday; day fields OR-ed. */
export interface CronSpec extends WallClockOptions {
  kind: 'cron';
  expression: string;
  timezone: string;
}

/** Quartz cron: 6 or 7 fields (seconds first, optional year); day of week 1-7 with 1 = Sunday; one day field `?`. */
export interface QuartzSpec extends WallClockOptions {
  kind: 'quartz';
  expression: string;
  timezone: string;
}

/** Every `everyMs` in absolute time, anchored at `anchor` (ISO instant; default the Unix epoch, so
 *  `every: 30s` fires at :00 and :30 on every replica and across re-applies of the same YAML).
 *  A `calendar` (judged in UTC unless it has its own zone) skips the fires it excludes. */
export interface IntervalSpec {
  kind: 'interval';
  everyMs: number;
  anchor?: string;
  calendar?: string;
}

/** A single fire at an instant. */
export interface OnceSpec {
  kind: 'once';
  at: string;
}

export interface ScheduleContext {
  calendars?: CalendarResolver;
}

export interface Schedule {
  readonly spec: ScheduleSpec;
  /** The first fire time strictly after `after`, or null when there is none. */
  next(after: Date): Date | null;
}

/** A schedule that can also say why fires were skipped or moved (for previews). */
export interface CompiledSchedule extends Schedule {
  /** The zone local times are shown in (UTC for the fixed kinds). */
  readonly timezone: string;
  /** Like `next`, with the skipped days and the move that led to the fire (times in ms). */
  explainNext(after: Date): FireDetail | null;
}

/**
 * Zones already found valid. luxon's isValidZone builds an Intl.DateTimeFormat at every call (about
 * 100 µs): twice per trigger, it was a fifth of an apply of 100,000 triggers (docs/performance.md).
 * Only valid names are kept, so the set is bounded by the IANA database.
 */
const validZones = new Set<string>();

export function assertTimeZone(zone: string, field = 'timezone'): void {
  if (validZones.has(zone)) return;
  if (!IANAZone.isValidZone(zone)) {
    throw new ScheduleError(
      `unknown time zone "${zone}" (use an IANA name such as Europe/Paris or UTC)`,
      field,
    );
  }
  validZones.add(zone);
}

export function compileSchedule(spec: ScheduleSpec, context: ScheduleContext = {}): CompiledSchedule {
  switch (spec.kind) {
    case 'cron':
    case 'quartz': {
      assertTimeZone(spec.timezone);
      const matcher = new CronMatcher(parseCronExpression(spec.expression, spec.kind, spec.kind));
      return wallClock(spec, matcher, context);
    }
    case 'calendar-interval':
      assertTimeZone(spec.timezone);
      return wallClock(spec, calendarIntervalSequence(spec), context);
    case 'daily-interval':
      assertTimeZone(spec.timezone);
      return wallClock(spec, dailyIntervalSequence(spec), context);
    case 'business-day': {
      assertTimeZone(spec.timezone);
      const zone = ZoneRules.for(spec.timezone);
      const calendar = resolveCalendar(spec.calendar, context, spec.timezone);
      const sequence = businessDaySequence(
        spec,
        zone,
        calendar,
        parseDayNames(spec.weekend ?? ['SAT', 'SUN'], 'weekend'),
      );
      return wallClock({ ...spec, calendar: undefined }, sequence, context, spec);
    }
    case 'interval':
      return compileInterval(spec, context);
    case 'once':
      return compileOnce(spec);
    case 'after':
      // Fired by upstream outcomes, never by time.
      return withCalendar(spec, 'UTC', () => null, undefined);
  }
}

function resolveCalendar(name: string | undefined, context: ScheduleContext, zone: string) {
  if (name === undefined) return undefined;
  const calendar = context.calendars?.(name);
  if (!calendar)
    throw new ScheduleError(
      `calendar "${name}" is not defined (define it under calendars, or use a shipped one)`,
      'calendar',
    );
  return calendar.inZone(zone);
}

function dstPolicy(dst: WallClockOptions['dst']): DstPolicy {
  return { gap: dst?.gap ?? DEFAULT_DST_POLICY.gap, overlap: dst?.overlap ?? DEFAULT_DST_POLICY.overlap };
}

type WallClockSpec =
  CronSpec | QuartzSpec | CalendarIntervalSpec | DailyIntervalSpec | (BusinessDaySpec & WallClockOptions);

function wallClock(
  spec: WallClockSpec,
  sequence: LocalSequence,
  context: ScheduleContext,
  original: ScheduleSpec = spec as ScheduleSpec,
): CompiledSchedule {
  const zone = ZoneRules.for(spec.timezone);
  const policy = dstPolicy(spec.dst);
  const raw = (afterMs: number) => nextWallClockFire(sequence, zone, afterMs, policy);
  const calendar = resolveCalendar(spec.calendar, context, spec.timezone);
  const rule = spec.onExcludedDay ?? 'skip';
  if (!calendar && rule !== 'skip') {
    throw new ScheduleError(`onExcludedDay "${rule}" needs a calendar`, 'onExcludedDay');
  }
  return withCalendar(
    original,
    spec.timezone,
    raw,
    calendar &&
      applyExcludedDayPolicy(raw, {
        calendar,
        rule,
        zone,
        weekend: parseDayNames(spec.weekend ?? ['SAT', 'SUN'], 'weekend'),
      }),
  );
}

function withCalendar(
  spec: ScheduleSpec,
  timezone: string,
  raw: (afterMs: number) => number | null,
  policy: ((afterMs: number, explain: boolean) => FireDetail | null) | undefined,
): CompiledSchedule {
  if (!policy) {
    return {
      spec,
      timezone,
      next: (after) => toDate(raw(after.getTime())),
      explainNext(after) {
        const at = raw(after.getTime());
        return at === null ? null : { at, skipped: [] };
      },
    };
  }
  return {
    spec,
    timezone,
    next: (after) => toDate(policy(after.getTime(), false)?.at ?? null),
    explainNext: (after) => policy(after.getTime(), true),
  };
}

function toDate(ms: number | null): Date | null {
  return ms === null ? null : new Date(ms);
}

function compileInterval(spec: IntervalSpec, context: ScheduleContext): CompiledSchedule {
  if (!Number.isInteger(spec.everyMs) || spec.everyMs < 1) {
    throw new ScheduleError(`interval must be at least 1ms, got ${spec.everyMs}`, 'every');
  }
  // Past the range of a Date (±8.64e15 ms) every fire time would be NaN, which only the database noticed.
  if (spec.everyMs > 8.64e15) {
    throw new ScheduleError(`interval of ${spec.everyMs}ms is longer than any date can reach`, 'every');
  }
  const anchorMs = spec.anchor === undefined ? 0 : parseInstant(spec.anchor, 'start').getTime();
  const raw = (afterMs: number) => {
    if (afterMs < anchorMs) return anchorMs;
    return anchorMs + (Math.floor((afterMs - anchorMs) / spec.everyMs) + 1) * spec.everyMs;
  };
  const calendar = resolveCalendar(spec.calendar, context, 'UTC');
  const policy =
    calendar &&
    applyExcludedDayPolicy(raw, { calendar, rule: 'skip', zone: ZoneRules.for('UTC'), weekend: new Set() });
  return withCalendar(spec, 'UTC', raw, policy);
}

function compileOnce(spec: OnceSpec): CompiledSchedule {
  const at = parseInstant(spec.at, 'at').getTime();
  return withCalendar(spec, 'UTC', (afterMs) => (at > afterMs ? at : null), undefined);
}

export function parseInstant(text: string, field: string): Date {
  // An instant needs its offset: a bare local time is ambiguous across replicas in different zones.
  if (!/(Z|[+-]\d\d:?\d\d)$/i.test(text.trim())) {
    throw new ScheduleError(
      `"${text}" has no offset; write an ISO 8601 instant such as 2030-01-01T09:00:00Z`,
      field,
    );
  }
  const date = new Date(text);
  if (Number.isNaN(date.getTime())) throw new ScheduleError(`"${text}" is not an ISO 8601 instant`, field);
  return date;
}
