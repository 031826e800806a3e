/**
 * Calendar intervals: every N days, weeks, months or years at the wall-clock time of `start`, counted
 * from `start` (never from the previous fire, so a short month does not drift later ones). Month-end
 * aware: a start on the 31st fires on the last day of shorter months, and on the 31st again after them;
 * 29 February fires on 28 February in common years.
 */
import { civilFromDays, daysInMonth, localMsOf, MS_PER_DAY, parseLocalDateTime } from './civil.js';
import type { LocalSequence } from './cron-matcher.js';
import { MAX_YEAR } from './cron-syntax.js';
import type { WallClockOptions } from './wall-clock-options.js';
import { ScheduleError } from './schedule-error.js';

/** Every `every` days/weeks/months/years at the local time of `start` (`YYYY-MM-DDTHH:mm[:ss]`, no offset). */
export interface CalendarIntervalSpec extends WallClockOptions {
  kind: 'calendar-interval';
  every: number;
  unit: 'day' | 'week' | 'month' | 'year';
  start: string;
  timezone: string;
}

export function calendarIntervalSequence(spec: CalendarIntervalSpec): LocalSequence {
  if (!Number.isInteger(spec.every) || spec.every < 1) {
    throw new ScheduleError(
      `calendar interval "every" must be a whole number of at least 1, got ${spec.every}`,
      'every',
    );
  }
  const anchor = parseLocalDateTime(spec.start);
  if (anchor === undefined) {
    throw new ScheduleError(
      `calendar interval start "${spec.start}" is not a local date-time (write 2030-01-31T09:00)`,
      'start',
    );
  }
  if (spec.unit === 'day' || spec.unit === 'week') {
    const step = spec.every * (spec.unit === 'week' ? 7 : 1) * MS_PER_DAY;
    return {
      firstAtOrAfter: (localMs) =>
        localMs <= anchor ? anchor : anchor + Math.ceil((localMs - anchor) / step) * step,
    };
  }
  const months = spec.every * (spec.unit === 'year' ? 12 : 1);
  const anchorDay = Math.floor(anchor / MS_PER_DAY);
  const timeOfDay = anchor - anchorDay * MS_PER_DAY;
  const start = civilFromDays(anchorDay);
  const startIndex = start.year * 12 + start.month - 1;
  const occurrence = (k: number) => {
    const index = startIndex + k * months;
    const year = Math.floor(index / 12);
    const month = (index % 12) + 1;
    return localMsOf(year, month, Math.min(start.day, daysInMonth(year, month))) + timeOfDay;
  };
  return {
    firstAtOrAfter(localMs) {
      if (localMs <= anchor) return anchor;
      const at = civilFromDays(Math.floor(localMs / MS_PER_DAY));
      let k = Math.max(0, Math.floor((at.year * 12 + at.month - 1 - startIndex) / months));
      while (occurrence(k) < localMs) k++;
      return civilFromDays(Math.floor(occurrence(k) / MS_PER_DAY)).year > MAX_YEAR ? null : occurrence(k);
    },
  };
}
