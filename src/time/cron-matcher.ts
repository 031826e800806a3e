/**
 * Matching parsed cron fields against local wall-clock time, fast: every field becomes a "next allowed
 * value at or after i" table, and the day fields (with L, W, # and the Vixie OR) become one such table
 * per month, computed once and cached. Finding the next match is then a handful of table lookups.
 *
 * This works on local ms only (civil.ts); time zones and DST are wall-clock-schedule.ts's concern.
 */
import { civilFromDays, daysInMonth, localMsOf, MS_PER_DAY, weekdayOf } from './civil.js';
import { MAX_YEAR, type CronFields } from './cron-syntax.js';

/** A set of local wall-clock times, walked in order. */
export interface LocalSequence {
  /** The first local ms at or after `localMs` in the set, or null when there is none. */
  firstAtOrAfter(localMs: number): number | null;
}

function nextTable(values: readonly number[], size: number): Int8Array {
  // table[i] = the smallest allowed value >= i, or -1. One spare slot so `i + 1` overflow reads -1.
  const table = new Int8Array(size + 1).fill(-1);
  const allowed = new Set(values);
  for (let i = size - 1, next = -1; i >= 0; i--) {
    if (allowed.has(i)) next = i;
    table[i] = next;
  }
  return table;
}

export class CronMatcher implements LocalSequence {
  private readonly seconds: Int8Array;
  private readonly minutes: Int8Array;
  private readonly hours: Int8Array;
  private readonly months: Int8Array;
  private readonly years: readonly number[] | undefined;
  private readonly dayTables = new Map<number, Int8Array>();

  constructor(readonly fields: CronFields) {
    this.seconds = nextTable(fields.seconds, 60);
    this.minutes = nextTable(fields.minutes, 60);
    this.hours = nextTable(fields.hours, 24);
    this.months = nextTable(fields.months, 13);
    this.years = fields.years;
  }

  firstAtOrAfter(localMs: number): number | null {
    const start = Math.ceil(localMs / 1000) * 1000;
    const days = Math.floor(start / MS_PER_DAY);
    const secondOfDay = (start - days * MS_PER_DAY) / 1000;
    let { year, month, day } = civilFromDays(days);
    let hour = Math.floor(secondOfDay / 3600);
    let minute = Math.floor((secondOfDay % 3600) / 60);
    let second = secondOfDay % 60;
    // Each pass either returns or moves a field forward and resets the smaller ones, so this ends.
    for (;;) {
      if (year > MAX_YEAR) return null;
      if (this.years && !this.years.includes(year)) {
        const nextYear = this.years.find((y) => y > year);
        if (nextYear === undefined) return null;
        [year, month, day, hour, minute, second] = [nextYear, 1, 1, 0, 0, 0];
        continue;
      }
      const nextMonth = this.months[month]!;
      if (nextMonth < 0) {
        [year, month, day, hour, minute, second] = [year + 1, 1, 1, 0, 0, 0];
        continue;
      }
      if (nextMonth !== month) [month, day, hour, minute, second] = [nextMonth, 1, 0, 0, 0];
      const nextDay = this.dayTable(year, month)[day]!;
      if (nextDay < 0) {
        if (month === 12) [year, month] = [year + 1, 1];
        else month += 1;
        [day, hour, minute, second] = [1, 0, 0, 0];
        continue;
      }
      if (nextDay !== day) [day, hour, minute, second] = [nextDay, 0, 0, 0];
      const nextHour = this.hours[hour]!;
      if (nextHour < 0) {
        [day, hour, minute, second] = [day + 1, 0, 0, 0];
        continue;
      }
      if (nextHour !== hour) [hour, minute, second] = [nextHour, 0, 0];
      const nextMinute = this.minutes[minute]!;
      if (nextMinute < 0) {
        [hour, minute, second] = [hour + 1, 0, 0];
        continue;
      }
      if (nextMinute !== minute) [minute, second] = [nextMinute, 0];
      const nextSecond = this.seconds[second]!;
      if (nextSecond < 0) {
        [minute, second] = [minute + 1, 0];
        continue;
      }
      return localMsOf(year, month, day, hour * 3600 + minute * 60 + nextSecond);
    }
  }

  /** Whether a local ms (whole second) is in the set. */
  matches(localMs: number): boolean {
    if (localMs % 1000 !== 0) return false;
    return this.firstAtOrAfter(localMs) === localMs;
  }

  /** Whether the day fields accept a date. */
  matchesDay(year: number, month: number, day: number): boolean {
    return (
      this.months[month] === month &&
      (!this.years || this.years.includes(year)) &&
      this.dayTable(year, month)[day] === day
    );
  }

  private dayTable(year: number, month: number): Int8Array {
    const key = year * 16 + month;
    let table = this.dayTables.get(key);
    if (!table) {
      if (this.dayTables.size > 4096) this.dayTables.clear();
      table = nextTable(matchingDays(this.fields, year, month), 33);
      this.dayTables.set(key, table);
    }
    return table;
  }
}

/** The days of a month that the day-of-month and day-of-week fields accept together. */
export function matchingDays(fields: CronFields, year: number, month: number): number[] {
  const last = daysInMonth(year, month);
  const all = Array.from({ length: last }, (_, i) => i + 1);
  const dom = fields.dayOfMonth ? dayOfMonthDays(fields, year, month, last) : undefined;
  const dow = fields.dayOfWeek ? dayOfWeekDays(fields, year, month, last) : undefined;
  if (dom && dow) {
    return fields.dayCombination === 'or'
      ? all.filter((d) => dom.has(d) || dow.has(d))
      : all.filter((d) => dom.has(d) && dow.has(d));
  }
  const only = dom ?? dow;
  return only ? all.filter((d) => only.has(d)) : all;
}

function nearestWeekday(year: number, month: number, day: number, last: number): number {
  const weekday = weekdayOf(year, month, day);
  // Quartz: the nearest weekday, never crossing into another month.
  if (weekday === 6) return day === 1 ? 3 : day - 1;
  if (weekday === 0) return day === last ? day - 2 : day + 1;
  return day;
}

function dayOfMonthDays(fields: CronFields, year: number, month: number, last: number): Set<number> {
  const rule = fields.dayOfMonth!;
  const days = new Set(rule.days.filter((d) => d <= last));
  for (const offset of rule.fromLast) if (last - offset >= 1) days.add(last - offset);
  for (const target of rule.nearestWeekday)
    if (target <= last) days.add(nearestWeekday(year, month, target, last));
  if (rule.lastWeekday) days.add(nearestWeekday(year, month, last, last));
  return days;
}

function dayOfWeekDays(fields: CronFields, year: number, month: number, last: number): Set<number> {
  const rule = fields.dayOfWeek!;
  const first = weekdayOf(year, month, 1);
  const days = new Set<number>();
  for (let d = 1; d <= last; d++) if (rule.weekdays.includes((first + d - 1) % 7)) days.add(d);
  for (const weekday of rule.lastInMonth) days.add(last - ((((first + last - 1) % 7) - weekday + 7) % 7));
  for (const [weekday, k] of rule.nth) {
    const day = 1 + ((weekday - first + 7) % 7) + 7 * (k - 1);
    if (day <= last) days.add(day);
  }
  return days;
}
