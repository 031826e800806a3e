import { describe, expect, it } from 'vitest';
import { compileCalendar, type CalendarSpec } from '../../../src/time/calendar.js';
import { createCalendarResolver } from '../../../src/time/calendar-resolver.js';
import { calendarSpecFromIcs } from '../../../src/time/ics-import.js';
import { calendarSpecSchema } from '../../../src/time/schedule-schema.js';
import { ScheduleError } from '../../../src/time/schedule.js';
import {
  loadShippedCalendar,
  loadShippedCalendarFile,
  shippedCalendarNames,
} from '../../../src/time/shipped-calendars.js';

const noCalendars = () => undefined;
const at = (iso: string) => new Date(iso).getTime();

describe('calendar kinds', () => {
  it('holiday: whole local days, with names', () => {
    const calendar = compileCalendar(
      {
        kind: 'holiday',
        timezone: 'Europe/Paris',
        dates: [{ date: '2024-12-25', name: 'Noël' }, '2024-12-26'],
      },
      noCalendars,
      'office',
    );
    expect(calendar.isTimeIncluded(at('2024-12-24T22:59:59Z'))).toBe(true);
    expect(calendar.isTimeIncluded(at('2024-12-24T23:00:00Z'))).toBe(false);
    expect(calendar.exclusionAt(at('2024-12-25T12:00:00Z'))).toEqual({
      calendar: 'office',
      kind: 'holiday',
      reason: 'Noël',
    });
    expect(calendar.exclusionAt(at('2024-12-26T12:00:00Z'))?.reason).toBe('holiday 2024-12-26');
    expect(calendar.skipExcluded(at('2024-12-25T12:00:00Z'))).toBe(at('2024-12-26T23:00:00Z') - 86_400_000);
  });

  it('annual, weekly and monthly', () => {
    const annual = compileCalendar(
      { kind: 'annual', timezone: 'UTC', days: [{ date: '12-25', name: 'Christmas' }, '02-29'] },
      noCalendars,
    );
    expect(annual.isTimeIncluded(at('2031-12-25T08:00:00Z'))).toBe(false);
    expect(annual.isTimeIncluded(at('2028-02-29T08:00:00Z'))).toBe(false);
    expect(annual.isTimeIncluded(at('2027-03-01T08:00:00Z'))).toBe(true);
    const weekly = compileCalendar(
      { kind: 'weekly', timezone: 'UTC', excludedDays: ['SAT', 'SUN'] },
      noCalendars,
    );
    expect(weekly.exclusionAt(at('2024-01-06T08:00:00Z'))?.reason).toBe('Saturday');
    expect(weekly.isTimeIncluded(at('2024-01-08T08:00:00Z'))).toBe(true);
    const monthly = compileCalendar({ kind: 'monthly', timezone: 'UTC', excludedDays: [1, 31] }, noCalendars);
    expect(monthly.isTimeIncluded(at('2024-03-31T08:00:00Z'))).toBe(false);
    expect(monthly.isTimeIncluded(at('2024-04-30T08:00:00Z'))).toBe(true);
  });

  it('daily: a time range, wrapping past midnight, or inverted', () => {
    const night = compileCalendar(
      { kind: 'daily', timezone: 'UTC', from: '22:00', to: '06:00' },
      noCalendars,
    );
    expect(night.isTimeIncluded(at('2024-01-01T23:00:00Z'))).toBe(false);
    expect(night.isTimeIncluded(at('2024-01-01T05:59:59Z'))).toBe(false);
    expect(night.isTimeIncluded(at('2024-01-01T06:00:00Z'))).toBe(true);
    expect(night.skipExcluded(at('2024-01-01T23:00:00Z'))).toBe(at('2024-01-02T06:00:00Z'));
    const office = compileCalendar(
      { kind: 'daily', timezone: 'UTC', from: '09:00', to: '17:00', invert: true },
      noCalendars,
    );
    expect(office.isTimeIncluded(at('2024-01-01T08:00:00Z'))).toBe(false);
    expect(office.isTimeIncluded(at('2024-01-01T12:00:00Z'))).toBe(true);
  });

  it('cron: excludes the seconds an expression matches', () => {
    const calendar = compileCalendar(
      { kind: 'cron', timezone: 'UTC', expression: '* * 0-7 ? * *' },
      noCalendars,
    );
    expect(calendar.isTimeIncluded(at('2024-01-01T07:59:59Z'))).toBe(false);
    expect(calendar.isTimeIncluded(at('2024-01-01T08:00:00Z'))).toBe(true);
  });

  it('rejects bad specs with field "calendar"', () => {
    const bad: CalendarSpec[] = [
      { kind: 'holiday', dates: ['2024-02-30'] },
      { kind: 'annual', days: ['13-01'] },
      { kind: 'weekly', excludedDays: ['XYZ' as 'SAT'] },
      { kind: 'monthly', excludedDays: [32] },
      { kind: 'daily', from: '25:00', to: '06:00' },
      { kind: 'cron', expression: '0 0 9 * * MON' },
      { kind: 'weekly', excludedDays: ['SAT'], timezone: 'Nowhere/City' },
      { kind: 'weekly', excludedDays: ['SAT'], base: 'missing' },
    ];
    for (const spec of bad) {
      expect(() => compileCalendar(spec, noCalendars), JSON.stringify(spec)).toThrow(ScheduleError);
    }
  });
});

describe('chains, zones and the resolver', () => {
  const resolve = createCalendarResolver({
    weekends: { kind: 'weekly', excludedDays: ['SAT', 'SUN'] },
    office: { kind: 'holiday', dates: [{ date: '2024-12-25', name: 'Christmas' }], base: 'weekends' },
    trading: { kind: 'holiday', dates: ['2024-12-24'], base: 'us-nyse', timezone: 'America/New_York' },
    loopA: { kind: 'weekly', excludedDays: ['SAT'], base: 'loopB' },
    loopB: { kind: 'weekly', excludedDays: ['SUN'], base: 'loopA' },
  });

  it('excludes what any calendar of the chain excludes, naming the one that did', () => {
    const office = resolve('office')!.inZone('UTC');
    expect(office.exclusionAt(at('2024-12-25T10:00:00Z'))).toEqual({
      calendar: 'office',
      kind: 'holiday',
      reason: 'Christmas',
    });
    expect(office.exclusionAt(at('2024-12-28T10:00:00Z'))).toEqual({
      calendar: 'weekends',
      kind: 'weekly',
      reason: 'Saturday',
    });
    expect(office.isTimeIncluded(at('2024-12-27T10:00:00Z'))).toBe(true);
    expect(resolve('trading')!.exclusionAt(at('2024-03-29T15:00:00Z'))?.calendar).toBe('us-nyse');
  });

  it('judges a floating calendar in the zone of its user, a zoned one in its own', () => {
    const office = resolve('office')!;
    expect(office.floating).toBe(true);
    // 25 December 09:00 in Tokyo is 24 December 19:00 in New York.
    const tokyoMorning = at('2024-12-25T00:00:00Z');
    expect(office.inZone('Asia/Tokyo').isTimeIncluded(tokyoMorning)).toBe(false);
    expect(office.inZone('America/New_York').isTimeIncluded(tokyoMorning)).toBe(true);
    const nyse = resolve('us-nyse')!;
    expect(nyse.floating).toBe(false);
    expect(nyse.inZone('Asia/Tokyo')).toBe(nyse);
  });

  it('caches, resolves user calendars first, and reports loops and unknown names', () => {
    expect(resolve('office')).toBe(resolve('office'));
    expect(resolve('nope')).toBeUndefined();
    expect(() => resolve('loopA')).toThrow(/loops: loopA -> loopB -> loopA/);
    const shadow = createCalendarResolver({ 'us-nyse': { kind: 'holiday', dates: [] } });
    expect(shadow('us-nyse')!.isTimeIncluded(at('2024-12-25T15:00:00Z'))).toBe(true);
  });
});

describe('shipped calendars', () => {
  const required = [
    'us-federal',
    'us-nyse',
    'uk-england-wales',
    'de',
    'fr',
    'jp',
    'ca',
    'au',
    'in',
    'target2',
  ];

  it('ship every required calendar, naming the source and covering 2020-2040', () => {
    expect(shippedCalendarNames()).toEqual(expect.arrayContaining(required));
    for (const name of required) {
      const file = loadShippedCalendarFile(name)!;
      expect(file.name).toBe(name);
      expect(file.source.length).toBeGreaterThan(10);
      expect(file.years).toEqual({ from: 2020, to: 2040 });
      expect(calendarSpecSchema.safeParse(file.calendar).success).toBe(true);
      const dates = (file.calendar as { dates: Array<{ date: string }> }).dates.map((d) => d.date);
      expect(dates[0]!.startsWith('2020')).toBe(true);
      expect(dates.at(-1)!.startsWith('2040')).toBe(true);
    }
  });

  it('us-nyse: Good Friday, Juneteenth from 2022 and the observed-date rules', () => {
    const dates = new Set(
      (loadShippedCalendar('us-nyse') as { dates: Array<{ date: string }> }).dates.map((d) => d.date),
    );
    expect(dates.has('2024-03-29')).toBe(true); // Good Friday
    expect(dates.has('2021-06-18')).toBe(false); // no Juneteenth closure before 2022
    expect(dates.has('2022-06-20')).toBe(true); // Juneteenth on a Sunday → Monday
    expect(dates.has('2027-06-18')).toBe(true); // Juneteenth on a Saturday → Friday
    expect(dates.has('2021-12-31')).toBe(false); // New Year's Day on a Saturday is not observed
    expect(dates.has('2021-12-24')).toBe(true); // Christmas on a Saturday → Friday
    expect(dates.has('2023-01-02')).toBe(true); // New Year's Day on a Sunday → Monday
    expect(dates.has('2025-01-09')).toBe(true); // national day of mourning
    expect(dates.has('2024-11-11')).toBe(false); // Veterans Day is a trading day
  });

  it('us-federal and target2 hold the expected days', () => {
    const federal = new Set(
      (loadShippedCalendar('us-federal') as { dates: Array<{ date: string }> }).dates.map((d) => d.date),
    );
    expect([...['2024-11-11', '2024-10-14', '2021-12-31', '2022-06-20']].every((d) => federal.has(d))).toBe(
      true,
    );
    const target2 = new Set(
      (loadShippedCalendar('target2') as { dates: Array<{ date: string }> }).dates.map((d) => d.date),
    );
    expect(
      ['2024-03-29', '2024-04-01', '2024-05-01', '2024-12-25', '2024-12-26', '2025-01-01'].every((d) =>
        target2.has(d),
      ),
    ).toBe(true);
    expect(target2.size).toBe(21 * 6);
  });

  it('refuses names that are not calendar names', () => {
    expect(loadShippedCalendar('../package')).toBeUndefined();
    expect(loadShippedCalendar('nope')).toBeUndefined();
  });
});

describe('.ics import', () => {
  const ics = [
    'BEGIN:VCALENDAR',
    'VERSION:2.0',
    'PRODID:-//test//EN',
    'BEGIN:VEVENT',
    'UID:1',
    'DTSTART;VALUE=DATE:20240101',
    'DTEND;VALUE=DATE:20240102',
    'RRULE:FREQ=YEARLY',
    "SUMMARY:New Year's Day",
    'END:VEVENT',
    'BEGIN:VEVENT',
    'UID:2',
    'DTSTART;VALUE=DATE:20240805',
    'DTEND;VALUE=DATE:20240808',
    'SUMMARY:Shutdown',
    'END:VEVENT',
    'END:VCALENDAR',
  ].join('\r\n');

  it('turns all-day events, recurring and multi-day ones, into holiday dates', () => {
    const spec = calendarSpecFromIcs(ics, { fromYear: 2024, toYear: 2026, timezone: 'Europe/Berlin' });
    expect(spec).toEqual({
      kind: 'holiday',
      timezone: 'Europe/Berlin',
      dates: [
        { date: '2024-01-01', name: "New Year's Day" },
        { date: '2024-08-05', name: 'Shutdown' },
        { date: '2024-08-06', name: 'Shutdown' },
        { date: '2024-08-07', name: 'Shutdown' },
        { date: '2025-01-01', name: "New Year's Day" },
        { date: '2026-01-01', name: "New Year's Day" },
      ],
    });
    expect(compileCalendar(spec, noCalendars).isTimeIncluded(at('2024-08-06T10:00:00Z'))).toBe(false);
  });

  it('reports a file it cannot parse', () => {
    expect(() => calendarSpecFromIcs('not a calendar', { fromYear: 2024, toYear: 2024 })).toThrow(
      ScheduleError,
    );
  });
});
