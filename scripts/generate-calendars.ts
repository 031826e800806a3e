/**
 * Generates the holiday calendars that ship in calendars/ (`npm run calendars`).
 *
 * Public holidays come from `date-holidays` (a maintained library of holiday rules, including observed
 * "substitute" days). Closures it does not know, exchange and payment-system calendars, are hand-kept
 * rules below: `us-nyse` (NYSE Rule 7.2 and its observed-date rules, plus one-off closures) and `target2`
 * (the ECB's TARGET2 closing days). Each file names its source and the years it covers.
 */
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import Holidays from 'date-holidays';
import type { HolidayCalendarSpec, NamedDate } from '../src/time/calendar.js';
import type { ShippedCalendarFile } from '../src/time/shipped-calendars.js';

const FROM = 2020;
const TO = 2040;
const OUT = fileURLToPath(new URL('../calendars/', import.meta.url));
const LIBRARY_VERSION = (createRequire(import.meta.url)('date-holidays/package.json') as { version: string })
  .version;

interface Definition {
  name: string;
  description: string;
  timezone: string;
  source: string;
  dates: () => NamedDate[];
}

/** Holidays of the given types from date-holidays, English names, substitute days included. */
function fromLibrary(country: string, state: string | undefined, types: string[]): () => NamedDate[] {
  return () => {
    const holidays = state
      ? new Holidays(country, state, { languages: ['en'] })
      : new Holidays(country, { languages: ['en'] });
    const dates: NamedDate[] = [];
    for (let year = FROM; year <= TO; year++) {
      for (const holiday of holidays.getHolidays(year)) {
        if (types.includes(holiday.type)) dates.push({ date: holiday.date.slice(0, 10), name: holiday.name });
      }
    }
    return dates;
  };
}

// ---- date arithmetic for the hand-kept rules (UTC dates, no zones involved) ----
const iso = (d: Date) => d.toISOString().slice(0, 10);
const utc = (y: number, m: number, d: number) => new Date(Date.UTC(y, m - 1, d));
const addDays = (d: Date, n: number) => new Date(d.getTime() + n * 86_400_000);

/** Easter Sunday (Gregorian, the anonymous algorithm). */
function easter(year: number): Date {
  const a = year % 19;
  const b = Math.floor(year / 100);
  const c = year % 100;
  const d = Math.floor(b / 4);
  const e = b % 4;
  const f = Math.floor((b + 8) / 25);
  const g = Math.floor((b - f + 1) / 3);
  const h = (19 * a + b - d - g + 15) % 30;
  const i = Math.floor(c / 4);
  const k = c % 4;
  const l = (32 + 2 * e + 2 * i - h - k) % 7;
  const m = Math.floor((a + 11 * h + 22 * l) / 451);
  const month = Math.floor((h + l - 7 * m + 114) / 31);
  return utc(year, month, ((h + l - 7 * m + 114) % 31) + 1);
}

/** The n-th (1-based; -1 = last) given weekday (0 = Sunday) of a month. */
function nthWeekday(year: number, month: number, weekday: number, n: number): Date {
  if (n > 0) {
    const first = utc(year, month, 1);
    return addDays(first, ((weekday - first.getUTCDay() + 7) % 7) + 7 * (n - 1));
  }
  const last = utc(year, month + 1, 0);
  return addDays(last, -((last.getUTCDay() - weekday + 7) % 7));
}

/**
 * NYSE Rule 7.2: a holiday on a Saturday is observed the Friday before, unless that Friday ends a monthly
 * or yearly accounting period (so New Year's Day on a Saturday is not observed); on a Sunday, the Monday after.
 */
function nyseObserved(date: Date, allowFridayBefore = true): Date | undefined {
  if (date.getUTCDay() === 6) return allowFridayBefore ? addDays(date, -1) : undefined;
  if (date.getUTCDay() === 0) return addDays(date, 1);
  return date;
}

/** Unscheduled full-day closures (national days of mourning and the like), kept by hand. */
const NYSE_ONE_OFF: NamedDate[] = [
  { date: '2025-01-09', name: 'National Day of Mourning for President Jimmy Carter' },
];

function nyseDates(): NamedDate[] {
  const dates: NamedDate[] = [];
  const add = (date: Date | undefined, name: string) => {
    if (date && date.getUTCFullYear() >= FROM && date.getUTCFullYear() <= TO)
      dates.push({ date: iso(date), name });
  };
  for (let year = FROM; year <= TO; year++) {
    add(nyseObserved(utc(year, 1, 1), false), "New Year's Day");
    add(nthWeekday(year, 1, 1, 3), 'Martin Luther King Jr. Day');
    add(nthWeekday(year, 2, 1, 3), "Washington's Birthday");
    add(addDays(easter(year), -2), 'Good Friday');
    add(nthWeekday(year, 5, 1, -1), 'Memorial Day');
    if (year >= 2022) add(nyseObserved(utc(year, 6, 19)), 'Juneteenth National Independence Day');
    add(nyseObserved(utc(year, 7, 4)), 'Independence Day');
    add(nthWeekday(year, 9, 1, 1), 'Labor Day');
    add(nthWeekday(year, 11, 4, 4), 'Thanksgiving Day');
    add(nyseObserved(utc(year, 12, 25)), 'Christmas Day');
  }
  return [...dates, ...NYSE_ONE_OFF];
}

function target2Dates(): NamedDate[] {
  const dates: NamedDate[] = [];
  for (let year = FROM; year <= TO; year++) {
    dates.push(
      { date: iso(utc(year, 1, 1)), name: "New Year's Day" },
      { date: iso(addDays(easter(year), -2)), name: 'Good Friday' },
      { date: iso(addDays(easter(year), 1)), name: 'Easter Monday' },
      { date: iso(utc(year, 5, 1)), name: 'Labour Day' },
      { date: iso(utc(year, 12, 25)), name: 'Christmas Day' },
      { date: iso(utc(year, 12, 26)), name: 'Christmas Holiday' },
    );
  }
  return dates;
}

const library = (what: string) => `date-holidays ${LIBRARY_VERSION}: ${what}`;

const DEFINITIONS: Definition[] = [
  {
    name: 'us-federal',
    description: 'United States federal holidays (5 U.S.C. 6103), with observed days for weekend holidays',
    timezone: 'America/New_York',
    source: library('country US, public holidays, substitute days included'),
    dates: fromLibrary('US', undefined, ['public']),
  },
  {
    name: 'us-nyse',
    description:
      'New York Stock Exchange full-day closures (weekends not listed; early closes are trading days)',
    timezone: 'America/New_York',
    source:
      'hand-kept rules in scripts/generate-calendars.ts: NYSE Rule 7.2 holidays and observed-date rules (Juneteenth from 2022), plus one-off closures',
    dates: nyseDates,
  },
  {
    name: 'uk-england-wales',
    description: 'Bank holidays in England and Wales, with substitute days',
    timezone: 'Europe/London',
    source: library('country GB, region ENG, public and bank holidays'),
    dates: fromLibrary('GB', 'ENG', ['public', 'bank']),
  },
  {
    name: 'de',
    description: 'Germany: nationwide public holidays (regional ones, e.g. Bavaria, not included)',
    timezone: 'Europe/Berlin',
    source: library('country DE, public holidays'),
    dates: fromLibrary('DE', undefined, ['public']),
  },
  {
    name: 'fr',
    description: 'France (metropolitan): public holidays',
    timezone: 'Europe/Paris',
    source: library('country FR, public holidays'),
    dates: fromLibrary('FR', undefined, ['public']),
  },
  {
    name: 'jp',
    description: 'Japan: national holidays, with substitute holidays',
    timezone: 'Asia/Tokyo',
    source: library('country JP, public holidays'),
    dates: fromLibrary('JP', undefined, ['public']),
  },
  {
    name: 'ca',
    description: 'Canada: nationwide statutory holidays (provincial ones not included)',
    timezone: 'America/Toronto',
    source: library('country CA, public holidays'),
    dates: fromLibrary('CA', undefined, ['public']),
  },
  {
    name: 'au',
    description: 'Australia: national public holidays (state ones not included)',
    timezone: 'Australia/Sydney',
    source: library('country AU, public holidays'),
    dates: fromLibrary('AU', undefined, ['public']),
  },
  {
    name: 'in',
    description: 'India: national public holidays (gazetted; state holidays not included)',
    timezone: 'Asia/Kolkata',
    source: library('country IN, public holidays'),
    dates: fromLibrary('IN', undefined, ['public']),
  },
  {
    name: 'target2',
    description: 'TARGET2 (euro payment system) closing days, besides weekends',
    timezone: 'Europe/Berlin',
    source:
      'hand-kept rules in scripts/generate-calendars.ts: the ECB TARGET2 closing days (New Year, Good Friday, Easter Monday, 1 May, 25 and 26 December)',
    dates: target2Dates,
  },
];

/** Sorted, one entry per date (names of coinciding holidays joined). */
function normalize(dates: NamedDate[]): NamedDate[] {
  const byDate = new Map<string, string[]>();
  for (const { date, name } of dates) {
    const names = byDate.get(date) ?? [];
    if (name && !names.includes(name)) names.push(name);
    byDate.set(date, names);
  }
  return [...byDate.keys()].sort().map((date) => ({ date, name: byDate.get(date)!.join(' / ') }));
}

for (const definition of DEFINITIONS) {
  const calendar: HolidayCalendarSpec = {
    kind: 'holiday',
    timezone: definition.timezone,
    description: definition.description,
    dates: normalize(definition.dates()),
  };
  const file: ShippedCalendarFile = {
    name: definition.name,
    description: definition.description,
    source: definition.source,
    years: { from: FROM, to: TO },
    generatedBy: 'scripts/generate-calendars.ts (npm run calendars)',
    calendar,
  };
  writeFileSync(`${OUT}${definition.name}.json`, `${JSON.stringify(file, null, 2)}\n`);
  console.log(`${definition.name}: ${calendar.dates.length} dates, ${FROM}-${TO}`);
}
