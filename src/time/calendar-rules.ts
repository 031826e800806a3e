/**
 * What each calendar kind excludes, on local wall-clock time in the calendar's zone (calendar.ts adds
 * zones and base calendars). Each rule answers two questions about a local ms: why is it excluded (null
 * when it is not), and until when, at least, does the exclusion last (so a schedule can jump over it).
 */
import {
  civilFromDays,
  DAY_NAMES,
  formatCivilDate,
  MS_PER_DAY,
  MS_PER_SECOND,
  parseLocalDateTime,
  parseTimeOfDay,
  weekdayOfDays,
} from './civil.js';
import { CronMatcher } from './cron-matcher.js';
import { parseCronExpression } from './cron-syntax.js';
import type { CalendarSpec, NamedDate } from './calendar-spec.js';
import { ScheduleError } from './schedule-error.js';

export interface LocalExclusionRule {
  reasonAt(localMs: number): string | null;
  /** A local ms > localMs up to which (exclusive) the exclusion surely lasts; only asked when excluded. */
  excludedUntil(localMs: number): number;
}

const DAY_LABELS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

function bad(message: string, field = 'calendar'): never {
  throw new ScheduleError(message, field);
}

function nextDay(localMs: number): number {
  return (Math.floor(localMs / MS_PER_DAY) + 1) * MS_PER_DAY;
}

function entries(dates: ReadonlyArray<string | NamedDate>): Array<[string, string | undefined]> {
  return dates.map((entry) => (typeof entry === 'string' ? [entry, undefined] : [entry.date, entry.name]));
}

export function localRuleOf(spec: CalendarSpec): LocalExclusionRule {
  switch (spec.kind) {
    case 'holiday': {
      const byDay = new Map<number, string>();
      for (const [date, name] of entries(spec.dates)) {
        const local = /^\d{4}-\d\d-\d\d$/.test(date) ? parseLocalDateTime(date) : undefined;
        if (local === undefined) bad(`holiday calendar date "${date}" is not a date (write YYYY-MM-DD)`);
        byDay.set(local / MS_PER_DAY, name ?? `holiday ${date}`);
      }
      return {
        reasonAt: (localMs) => byDay.get(Math.floor(localMs / MS_PER_DAY)) ?? null,
        excludedUntil: nextDay,
      };
    }
    case 'annual': {
      const byMonthDay = new Map<number, string>();
      for (const [date, name] of entries(spec.days)) {
        const match = /^(\d\d)-(\d\d)$/.exec(date);
        // 2000 is a leap year, so 02-29 is accepted (and only matches in leap years).
        if (!match || parseLocalDateTime(`2000-${date}`) === undefined)
          bad(`annual calendar day "${date}" is not a day of the year (write MM-DD)`);
        byMonthDay.set(Number(match[1]) * 100 + Number(match[2]), name ?? `every ${date}`);
      }
      return {
        reasonAt: (localMs) => {
          const { month, day } = civilFromDays(Math.floor(localMs / MS_PER_DAY));
          return byMonthDay.get(month * 100 + day) ?? null;
        },
        excludedUntil: nextDay,
      };
    }
    case 'weekly': {
      const excluded = new Set<number>();
      for (const name of spec.excludedDays) {
        const index = DAY_NAMES.indexOf(name.toUpperCase() as (typeof DAY_NAMES)[number]);
        if (index < 0) bad(`weekly calendar day "${name}" is not a day name (use SUN, MON … SAT)`);
        excluded.add(index);
      }
      return {
        reasonAt: (localMs) => {
          const weekday = weekdayOfDays(Math.floor(localMs / MS_PER_DAY));
          return excluded.has(weekday) ? DAY_LABELS[weekday]! : null;
        },
        excludedUntil: nextDay,
      };
    }
    case 'monthly': {
      for (const day of spec.excludedDays) {
        if (!Number.isInteger(day) || day < 1 || day > 31)
          bad(`monthly calendar day ${day} is not a day of the month (1-31)`);
      }
      const excluded = new Set(spec.excludedDays);
      return {
        reasonAt: (localMs) => {
          const { day } = civilFromDays(Math.floor(localMs / MS_PER_DAY));
          return excluded.has(day) ? `day ${day} of the month` : null;
        },
        excludedUntil: nextDay,
      };
    }
    case 'daily':
      return dailyRule(spec.from, spec.to, spec.invert ?? false);
    case 'cron': {
      const matcher = new CronMatcher(
        parseCronExpression(spec.expression, spec.dialect ?? 'quartz', 'calendar'),
      );
      const reason = `matches ${spec.dialect ?? 'quartz'} "${spec.expression}"`;
      return {
        reasonAt: (localMs) => (matcher.matches(Math.floor(localMs / 1000) * 1000) ? reason : null),
        excludedUntil: (localMs) => {
          let t = Math.floor(localMs / 1000) * 1000 + MS_PER_SECOND;
          for (let i = 0; i < 3600 && matcher.matches(t); i++) t += MS_PER_SECOND;
          return t;
        },
      };
    }
  }
}

function dailyRule(fromText: string, toText: string, invert: boolean): LocalExclusionRule {
  const from = parseTimeOfDay(fromText);
  const to = parseTimeOfDay(toText);
  if (from === undefined)
    bad(`daily calendar "from" time "${fromText}" is not a time of day (write HH:mm or HH:mm:ss)`);
  if (to === undefined)
    bad(`daily calendar "to" time "${toText}" is not a time of day (write HH:mm or HH:mm:ss)`);
  if (from === to) bad(`daily calendar range ${fromText}-${toText} is empty`);
  const [fromMs, toMs] = [from * 1000, to * 1000];
  // The excluded range is [from, to), wrapping past midnight when from > to; `invert` excludes the rest.
  const inRange = (ms: number) => (fromMs < toMs ? ms >= fromMs && ms < toMs : ms >= fromMs || ms < toMs);
  const reason = invert ? `outside ${fromText}-${toText}` : `between ${fromText} and ${toText}`;
  return {
    reasonAt: (localMs) => {
      const ms = localMs - Math.floor(localMs / MS_PER_DAY) * MS_PER_DAY;
      return inRange(ms) !== invert ? reason : null;
    },
    excludedUntil: (localMs) => {
      const dayStart = Math.floor(localMs / MS_PER_DAY) * MS_PER_DAY;
      const ms = localMs - dayStart;
      // The excluded stretch ends at `to` (or, inverted, at `from`), today or tomorrow.
      const end = invert ? fromMs : toMs;
      return dayStart + (end > ms ? end : end + MS_PER_DAY);
    },
  };
}

/** The civil date label of a local ms, for explanations. */
export function localDateLabel(localMs: number): string {
  return formatCivilDate(civilFromDays(Math.floor(localMs / MS_PER_DAY)));
}
