/**
 * Daily time intervals (Quartz's DailyTimeIntervalTrigger): every `everyMs` of wall-clock time from
 * `from` to `to` (both included when hit) on the chosen weekdays, e.g. every 15 min 09:00-17:00 MON-FRI.
 * Each day restarts at `from`.
 */
import { DAY_NAMES, MS_PER_DAY, parseTimeOfDay, weekdayOfDays, type DayName } from './civil.js';
import type { LocalSequence } from './cron-matcher.js';
import type { WallClockOptions } from './wall-clock-options.js';
import { ScheduleError } from './schedule-error.js';

/** Every `everyMs` of wall-clock time between `from` and `to` (`HH:mm`, both included) on `days` (default all). */
export interface DailyIntervalSpec extends WallClockOptions {
  kind: 'daily-interval';
  everyMs: number;
  from: string;
  to: string;
  days?: DayName[];
  timezone: string;
}

export function parseDayNames(names: readonly string[], field: string): Set<number> {
  const days = new Set<number>();
  for (const name of names) {
    const index = DAY_NAMES.indexOf(name.toUpperCase() as (typeof DAY_NAMES)[number]);
    if (index < 0) throw new ScheduleError(`"${name}" is not a day name (use SUN, MON … SAT)`, field);
    days.add(index);
  }
  return days;
}

export function dailyIntervalSequence(spec: DailyIntervalSpec): LocalSequence {
  if (!Number.isInteger(spec.everyMs) || spec.everyMs < 1000 || spec.everyMs % 1000 !== 0) {
    throw new ScheduleError(
      `daily interval must be a whole number of seconds, at least 1s; got ${spec.everyMs}ms`,
      'every',
    );
  }
  const from = parseTimeOfDay(spec.from);
  const to = parseTimeOfDay(spec.to);
  if (from === undefined)
    throw new ScheduleError(`"${spec.from}" is not a time of day (write HH:mm)`, 'from');
  if (to === undefined || to < from) {
    throw new ScheduleError(
      `"${spec.to}" is not a time of day at or after "${spec.from}" (write HH:mm)`,
      'to',
    );
  }
  const days = parseDayNames(spec.days ?? DAY_NAMES, 'days');
  if (days.size === 0) throw new ScheduleError('daily interval needs at least one day', 'days');
  const step = spec.everyMs / 1000;
  return {
    firstAtOrAfter(localMs) {
      const start = Math.ceil(localMs / 1000) * 1000;
      let day = Math.floor(start / MS_PER_DAY);
      let second = (start - day * MS_PER_DAY) / 1000;
      for (let i = 0; i < 8; i++, day++, second = 0) {
        if (!days.has(weekdayOfDays(day))) continue;
        const candidate = second <= from ? from : from + Math.ceil((second - from) / step) * step;
        if (candidate <= to && candidate < 86_400) return day * MS_PER_DAY + candidate * 1000;
      }
      return null;
    },
  };
}
