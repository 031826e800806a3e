/**
 * Calendar specs: plain JSON (from YAML, from the shipped files in `calendars/`, or from an .ics import).
 * Types only, a leaf: calendar.ts (zones, base chains) and calendar-rules.ts (what each kind excludes)
 * both read them, and neither imports the other's back.
 */
import type { DayName } from './civil.js';

export interface NamedDate {
  date: string;
  name?: string;
}

interface CalendarSpecBase {
  /** IANA zone the calendar judges time in; absent = the zone of the schedule using it. */
  timezone?: string;
  /** Name of a calendar that must also include a time. */
  base?: string;
  description?: string;
}

/** Whole days, `YYYY-MM-DD`, optionally named (the name shows in previews). */
export interface HolidayCalendarSpec extends CalendarSpecBase {
  kind: 'holiday';
  dates: Array<string | NamedDate>;
}

/** The same days every year, `MM-DD`. */
export interface AnnualCalendarSpec extends CalendarSpecBase {
  kind: 'annual';
  days: Array<string | NamedDate>;
}

/** Excluded weekdays by name: `SAT`, `SUN`. */
export interface WeeklyCalendarSpec extends CalendarSpecBase {
  kind: 'weekly';
  excludedDays: DayName[];
}

/** Excluded days of every month, 1-31. */
export interface MonthlyCalendarSpec extends CalendarSpecBase {
  kind: 'monthly';
  excludedDays: number[];
}

/** Excludes [from, to) each day (`HH:mm[:ss]`, wrapping past midnight when from > to); `invert` excludes the rest. */
export interface DailyCalendarSpec extends CalendarSpecBase {
  kind: 'daily';
  from: string;
  to: string;
  invert?: boolean;
}

/** Excludes every second matching the expression (default dialect `quartz`). */
export interface CronCalendarSpec extends CalendarSpecBase {
  kind: 'cron';
  expression: string;
  dialect?: 'quartz' | 'cron';
}

export type CalendarSpec =
  | HolidayCalendarSpec
  | AnnualCalendarSpec
  | WeeklyCalendarSpec
  | MonthlyCalendarSpec
  | DailyCalendarSpec
  | CronCalendarSpec;
