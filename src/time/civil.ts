/**
 * Proleptic Gregorian calendar arithmetic on plain numbers, the hot path of every schedule.
 *
 * A "local ms" is a wall-clock reading encoded as if it were UTC: `Date.UTC(y, m - 1, d, h, mi, s)`. It
 * names a local time without saying which instant it is; `ZoneRules` turns it into instants. Days are
 * counted from 1970-01-01 (day 0). Months are 1-12, weekdays 0-6 with 0 = Sunday.
 */
export const MS_PER_SECOND = 1_000;
export const MS_PER_MINUTE = 60_000;
export const MS_PER_HOUR = 3_600_000;
export const MS_PER_DAY = 86_400_000;

export interface CivilDate {
  year: number;
  month: number;
  day: number;
}

export function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

const DAYS_IN_MONTH = [0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

export function daysInMonth(year: number, month: number): number {
  return month === 2 && isLeapYear(year) ? 29 : DAYS_IN_MONTH[month]!;
}

/** Days since 1970-01-01 of a civil date (Howard Hinnant's days_from_civil). */
export function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const mp = (month + 9) % 12;
  const doy = Math.floor((153 * mp + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** The civil date of a day number (inverse of `daysFromCivil`). */
export function civilFromDays(days: number): CivilDate {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365,
  );
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  return { year: yoe + era * 400 + (month <= 2 ? 1 : 0), month, day };
}

/** 0 = Sunday … 6 = Saturday. */
export function weekdayOfDays(days: number): number {
  return (((days + 4) % 7) + 7) % 7;
}

export function weekdayOf(year: number, month: number, day: number): number {
  return weekdayOfDays(daysFromCivil(year, month, day));
}

export function localMsOf(year: number, month: number, day: number, seconds = 0): number {
  return daysFromCivil(year, month, day) * MS_PER_DAY + seconds * MS_PER_SECOND;
}

export function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

export function formatCivilDate(date: CivilDate): string {
  return `${String(date.year).padStart(4, '0')}-${pad2(date.month)}-${pad2(date.day)}`;
}

/** `YYYY-MM-DDTHH:mm:ss` for a local ms. */
export function formatLocalMs(localMs: number): string {
  const days = Math.floor(localMs / MS_PER_DAY);
  const secs = Math.floor((localMs - days * MS_PER_DAY) / MS_PER_SECOND);
  const h = Math.floor(secs / 3600);
  const mi = Math.floor((secs % 3600) / 60);
  return `${formatCivilDate(civilFromDays(days))}T${pad2(h)}:${pad2(mi)}:${pad2(secs % 60)}`;
}

const TIME_OF_DAY = /^([01]?\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?$/;

/** Parses `HH:mm` or `HH:mm:ss` into seconds of the day, or undefined. `24:00` means the end of the day. */
export function parseTimeOfDay(text: string): number | undefined {
  if (text === '24:00' || text === '24:00:00') return 86_400;
  const match = TIME_OF_DAY.exec(text.trim());
  if (!match) return undefined;
  return Number(match[1]) * 3600 + Number(match[2]) * 60 + Number(match[3] ?? 0);
}

const LOCAL_DATE_TIME = /^(\d{4})-(\d\d)-(\d\d)(?:[T ](\d\d):(\d\d)(?::(\d\d))?)?$/;

/** Parses a zone-less `YYYY-MM-DD[THH:mm[:ss]]` into a local ms, or undefined when it is not a real date. */
export function parseLocalDateTime(text: string): number | undefined {
  const match = LOCAL_DATE_TIME.exec(text.trim());
  if (!match) return undefined;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const [h, mi, s] = [Number(match[4] ?? 0), Number(match[5] ?? 0), Number(match[6] ?? 0)];
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month) || h > 23 || mi > 59 || s > 59) {
    return undefined;
  }
  return localMsOf(year, month, day, h * 3600 + mi * 60 + s);
}

export const DAY_NAMES = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'] as const;
export type DayName = (typeof DAY_NAMES)[number];
