/**
 * What a schedule does when a fire lands on a time its calendar excludes (per trigger, `onExcludedDay`):
 *
 * - `skip` (Quartz, the default): the fire does not happen; the next included one does.
 * - `next-business-day` / `previous-business-day`: the fire moves to the same local time on the nearest
 *   business day after / before it.
 * - `modified-following`: the next business day, unless that is in another month, then the previous one.
 *
 * A business day is a day that is not a weekend day (`weekend`, default SAT and SUN) and on which the
 * calendar includes the fire's local time. Several fires that move onto one instant fire once. Moving is
 * decided per day, so it suits day calendars (holiday, annual, weekly, monthly); a fire excluded by a
 * time-of-day calendar finds no business day within a year and is dropped.
 */
import { civilFromDays, MS_PER_DAY, weekdayOfDays } from './civil.js';
import type { Calendar, CalendarExclusion } from './calendar.js';
import { localDateLabel } from './calendar-rules.js';
import { instantOfLocal } from './wall-clock-schedule.js';
import type { ZoneRules } from './zone-rules.js';

export type OnExcludedDay = 'skip' | 'next-business-day' | 'previous-business-day' | 'modified-following';

/** Fires skipped on one local day, and why. */
export interface SkippedDay {
  /** The local date (YYYY-MM-DD) in the schedule's zone. */
  date: string;
  /** The first skipped fire that day (ms). */
  firstFire: number;
  fires: number;
  exclusion: CalendarExclusion;
}

export interface FireDetail {
  at: number;
  /** Days whose fires were skipped since the previous fire. */
  skipped: SkippedDay[];
  /** Set when this fire was moved off an excluded day. */
  moved?: { from: number; rule: OnExcludedDay; exclusion: CalendarExclusion };
}

export type RawNext = (afterMs: number) => number | null;

export interface ExcludedDayOptions {
  calendar: Calendar;
  rule: OnExcludedDay;
  zone: ZoneRules;
  /** Weekdays (0 = Sunday) that are never business days. */
  weekend: ReadonlySet<number>;
}

/** Bounds on the search, so a calendar that excludes everything ends in null rather than a hang. */
const MAX_SKIPPED_FIRES = 100_000;
const MAX_RAW_FIRES = 10_000;
const MAX_MOVE_DAYS = 366;

export function applyExcludedDayPolicy(
  raw: RawNext,
  options: ExcludedDayOptions,
): (afterMs: number, explain: boolean) => FireDetail | null {
  return options.rule === 'skip'
    ? (afterMs, explain) => nextSkipping(raw, options, afterMs, explain)
    : (afterMs) => nextMoving(raw, options, afterMs);
}

function nextSkipping(
  raw: RawNext,
  { calendar, zone }: ExcludedDayOptions,
  afterMs: number,
  explain: boolean,
): FireDetail | null {
  const skipped: SkippedDay[] = [];
  let t = afterMs;
  for (let i = 0; i < MAX_SKIPPED_FIRES; i++) {
    const fire = raw(t);
    if (fire === null) return null;
    if (calendar.isTimeIncluded(fire)) return { at: fire, skipped };
    if (explain) {
      const exclusion = calendar.exclusionAt(fire)!;
      const date = localDateLabel(zone.toLocal(fire));
      const last = skipped.at(-1);
      if (last && last.date === date && last.exclusion.reason === exclusion.reason) last.fires += 1;
      else skipped.push({ date, firstFire: fire, fires: 1, exclusion });
    }
    // Jump over the whole excluded stretch (a holiday: to the next local midnight).
    t = Math.max(fire, calendar.skipExcluded(fire) - 1);
  }
  return null;
}

function nextMoving(raw: RawNext, options: ExcludedDayOptions, afterMs: number): FireDetail | null {
  const { calendar, rule, zone, weekend } = options;
  const localDay = (ms: number) => Math.floor(zone.toLocal(ms) / MS_PER_DAY);
  let best: FireDetail | null = null;
  let t = afterMs;
  for (let i = 0; i < MAX_RAW_FIRES; i++) {
    const fire = raw(t);
    if (fire === null) break;
    t = fire;
    // A move to a later day never goes back in time: past the best so far, nothing can beat it.
    if (best && rule === 'next-business-day' && fire >= best.at) break;
    if (calendar.isTimeIncluded(fire)) {
      if (fire > afterMs && (!best || fire < best.at)) best = { at: fire, skipped: [] };
      // Moves go back at most to the previous business day: once a fire sits on a business day after
      // the best one, later fires cannot move before it.
      if (best && !weekend.has(weekdayOfDays(localDay(fire))) && localDay(fire) > localDay(best.at)) break;
      continue;
    }
    const target = moveFire(fire, options);
    if (target !== null && target > afterMs && (!best || target < best.at)) {
      best = { at: target, skipped: [], moved: { from: fire, rule, exclusion: calendar.exclusionAt(fire)! } };
    }
  }
  return best;
}

/** The instant an excluded fire moves to under the rule, or null when no business day is near. */
export function moveFire(fire: number, { calendar, rule, zone, weekend }: ExcludedDayOptions): number | null {
  const local = zone.toLocal(fire);
  const day = Math.floor(local / MS_PER_DAY);
  const timeOfDay = local - day * MS_PER_DAY;
  const isBusiness = (d: number) =>
    !weekend.has(weekdayOfDays(d)) &&
    calendar.isTimeIncluded(instantOfLocal(zone, d * MS_PER_DAY + timeOfDay));
  const search = (direction: 1 | -1) => {
    for (let k = 1; k <= MAX_MOVE_DAYS; k++) if (isBusiness(day + direction * k)) return day + direction * k;
    return null;
  };
  let target = search(rule === 'previous-business-day' ? -1 : 1);
  if (
    rule === 'modified-following' &&
    (target === null || civilFromDays(target).month !== civilFromDays(day).month)
  ) {
    target = search(-1);
  }
  return target === null ? null : instantOfLocal(zone, target * MS_PER_DAY + timeOfDay);
}
