/**
 * Business-day schedules: the Nth business day of the month at a local time ("the first business day
 * at 09:00": day 1; "the last": day -1; "the third to last": day -3). A business day is not a weekend
 * day and is included by the calendar at that local time.
 */
import {
  civilFromDays,
  daysInMonth,
  daysFromCivil,
  MS_PER_DAY,
  parseTimeOfDay,
  weekdayOfDays,
  type DayName,
} from './civil.js';
import type { Calendar } from './calendar.js';
import type { LocalSequence } from './cron-matcher.js';
import { MAX_YEAR } from './cron-syntax.js';
import { ScheduleError } from './schedule-error.js';
import type { WallClockOptions } from './wall-clock-options.js';
import { instantOfLocal } from './wall-clock-schedule.js';
import type { ZoneRules } from './zone-rules.js';

/** The `day`-th business day of the month (negative: from the end) at `time`, in `months` (default all). */
export interface BusinessDaySpec {
  kind: 'business-day';
  day: number;
  time: string;
  timezone: string;
  calendar?: string;
  weekend?: DayName[];
  months?: number[];
  dst?: WallClockOptions['dst'];
}

export function businessDaySequence(
  spec: BusinessDaySpec,
  zone: ZoneRules,
  calendar: Calendar | undefined,
  weekend: ReadonlySet<number>,
): LocalSequence {
  if (!Number.isInteger(spec.day) || spec.day === 0 || Math.abs(spec.day) > 23) {
    throw new ScheduleError(
      `business day must be 1…23 (from the start) or -1…-23 (from the end), got ${spec.day}`,
      'day',
    );
  }
  const seconds = parseTimeOfDay(spec.time);
  if (seconds === undefined || seconds >= 86_400)
    throw new ScheduleError(`"${spec.time}" is not a time of day (write HH:mm)`, 'time');
  const months = new Set(spec.months ?? [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  for (const month of months) {
    if (!Number.isInteger(month) || month < 1 || month > 12)
      throw new ScheduleError(`month ${month} is not 1-12`, 'months');
  }
  const timeOfDay = seconds * 1000;
  const cache = new Map<number, number | null>();
  /** The local ms of the chosen business day of a month, or null when the month has too few. */
  const fireIn = (year: number, month: number): number | null => {
    const key = year * 16 + month;
    if (cache.has(key)) return cache.get(key)!;
    const first = daysFromCivil(year, month, 1);
    const business: number[] = [];
    for (let d = first; d < first + daysInMonth(year, month); d++) {
      if (weekend.has(weekdayOfDays(d))) continue;
      if (calendar && !calendar.isTimeIncluded(instantOfLocal(zone, d * MS_PER_DAY + timeOfDay))) continue;
      business.push(d);
    }
    const day = spec.day > 0 ? business[spec.day - 1] : business[business.length + spec.day];
    const result = day === undefined ? null : day * MS_PER_DAY + timeOfDay;
    if (cache.size > 1024) cache.clear();
    cache.set(key, result);
    return result;
  };
  return {
    firstAtOrAfter(localMs) {
      let { year, month } = civilFromDays(Math.floor(localMs / MS_PER_DAY));
      for (; year <= MAX_YEAR; month === 12 ? ((month = 1), year++) : month++) {
        if (!months.has(month)) continue;
        const fire = fireIn(year, month);
        if (fire !== null && fire >= localMs) return fire;
      }
      return null;
    },
  };
}
