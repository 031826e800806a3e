import { describe, expect, it } from 'vitest';
import { createCalendarResolver } from '../../../src/time/calendar-resolver.js';
import {
  compileSchedule,
  ScheduleError,
  type OnExcludedDay,
  type ScheduleSpec,
} from '../../../src/time/schedule.js';
import { fires } from './fires.js';

const calendars = createCalendarResolver({
  'month-end': { kind: 'holiday', dates: [{ date: '2024-01-31', name: 'Inventory' }] },
});
const context = { calendars };
const nyse = (
  expression: string,
  onExcludedDay?: OnExcludedDay,
  extra: Partial<ScheduleSpec> = {},
): ScheduleSpec =>
  ({
    kind: 'quartz',
    expression,
    timezone: 'America/New_York',
    calendar: 'us-nyse',
    ...(onExcludedDay ? { onExcludedDay } : {}),
    ...extra,
  }) as ScheduleSpec;

describe('fires on excluded days', () => {
  it('skip (the default): Good Friday 2024 does not fire', () => {
    expect(fires(nyse('0 0 9 ? * MON-FRI'), '2024-03-28T14:00:00Z', 2, context)).toEqual([
      '2024-04-01T13:00:00Z',
      '2024-04-02T13:00:00Z',
    ]);
  });

  it.each([
    // 4 July 2024 is a Thursday: the 09:00 fire on the 4th moves.
    ['next-business-day', '2024-06-05T00:00:00Z', ['2024-07-05T13:00:00Z', '2024-08-04T13:00:00Z']],
    ['previous-business-day', '2024-06-05T00:00:00Z', ['2024-07-03T13:00:00Z', '2024-08-04T13:00:00Z']],
    ['modified-following', '2024-06-05T00:00:00Z', ['2024-07-05T13:00:00Z', '2024-08-04T13:00:00Z']],
    ['skip', '2024-06-05T00:00:00Z', ['2024-08-04T13:00:00Z']],
  ] as const)('%s: the 4th of each month', (rule, from, expected) => {
    expect(fires(nyse('0 0 9 4 * ?', rule), from, expected.length, context)).toEqual(expected);
  });

  it.each([
    // Memorial Day 2027 is Monday 31 May: following would leave the month, so modified-following goes back.
    ['modified-following', ['2027-05-28T13:00:00Z', '2027-06-30T13:00:00Z']],
    ['next-business-day', ['2027-06-01T13:00:00Z', '2027-06-30T13:00:00Z']],
    ['previous-business-day', ['2027-05-28T13:00:00Z', '2027-06-30T13:00:00Z']],
  ] as const)('%s at a month end', (rule, expected) => {
    expect(fires(nyse('0 0 9 L * ?', rule), '2027-05-01T00:00:00Z', 2, context)).toEqual(expected);
  });

  it('moves over weekends and consecutive holidays, merging fires that land together', () => {
    // Good Friday 29 March 2024: a weekday schedule moved to the next business day is Monday 1 April.
    expect(fires(nyse('0 0 9 ? * MON-FRI', 'next-business-day'), '2024-03-28T14:00:00Z', 2, context)).toEqual(
      ['2024-04-01T13:00:00Z', '2024-04-02T13:00:00Z'],
    );
    // A Monday holiday moved back lands on the Friday before, even when Friday has its own fire.
    expect(
      fires(nyse('0 0 9 ? * MON,FRI', 'previous-business-day'), '2024-01-11T00:00:00Z', 3, context),
    ).toEqual(['2024-01-12T14:00:00Z', '2024-01-19T14:00:00Z', '2024-01-22T14:00:00Z']);
  });

  it('takes the weekend from the spec', () => {
    const sevenDays = nyse('0 0 9 ? * MON', 'previous-business-day', { weekend: [] });
    // MLK Day, Monday 15 January 2024, moves to Sunday the 14th when no day is a weekend day.
    expect(fires(sevenDays, '2024-01-09T00:00:00Z', 1, context)).toEqual(['2024-01-14T14:00:00Z']);
  });

  it('needs a calendar for a moving rule, and a calendar that resolves', () => {
    expect(() =>
      compileSchedule({
        kind: 'cron',
        expression: '0 9 * * *',
        timezone: 'UTC',
        onExcludedDay: 'next-business-day',
      }),
    ).toThrow(/needs a calendar/);
    try {
      compileSchedule(
        { kind: 'cron', expression: '0 9 * * *', timezone: 'UTC', calendar: 'nowhere' },
        context,
      );
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ScheduleError);
      expect((error as ScheduleError).field).toBe('calendar');
    }
    expect(() =>
      compileSchedule({ kind: 'cron', expression: '0 9 * * *', timezone: 'UTC', calendar: 'us-nyse' }),
    ).toThrow(/calendar "us-nyse" is not defined/);
  });
});

describe('business-day schedules', () => {
  const businessDay = (day: number, extra: Partial<ScheduleSpec> = {}): ScheduleSpec =>
    ({
      kind: 'business-day',
      day,
      time: '09:00',
      timezone: 'America/New_York',
      calendar: 'us-nyse',
      ...extra,
    }) as ScheduleSpec;

  it('first business day of the month: 1 January is a holiday', () => {
    expect(fires(businessDay(1), '2023-12-15T00:00:00Z', 3, context)).toEqual([
      '2024-01-02T14:00:00Z',
      '2024-02-01T14:00:00Z',
      '2024-03-01T14:00:00Z',
    ]);
  });

  it('last business day: Good Friday 2024 ends March; Memorial Day 2027 ends May', () => {
    expect(fires(businessDay(-1), '2024-03-01T00:00:00Z', 2, context)).toEqual([
      '2024-03-28T13:00:00Z',
      '2024-04-30T13:00:00Z',
    ]);
    expect(fires(businessDay(-1), '2027-05-01T00:00:00Z', 1, context)).toEqual(['2027-05-28T13:00:00Z']);
  });

  it('Nth business day, in chosen months, with a user calendar and without one', () => {
    // September 2024: Labor Day Monday the 2nd, so the third business day is Thursday the 5th.
    expect(fires(businessDay(3, { months: [9] }), '2024-01-01T00:00:00Z', 2, context)).toEqual([
      '2024-09-05T13:00:00Z',
      '2025-09-04T13:00:00Z',
    ]);
    const plain: ScheduleSpec = {
      kind: 'business-day',
      day: -1,
      time: '17:30',
      timezone: 'UTC',
      calendar: 'month-end',
    };
    expect(fires(plain, '2024-01-01T00:00:00Z', 2, context)).toEqual([
      '2024-01-30T17:30:00Z',
      '2024-02-29T17:30:00Z',
    ]);
    const noCalendar: ScheduleSpec = { kind: 'business-day', day: -1, time: '17:30', timezone: 'UTC' };
    expect(fires(noCalendar, '2024-01-01T00:00:00Z', 1)).toEqual(['2024-01-31T17:30:00Z']);
  });

  it('rejects day 0 and bad times', () => {
    expect(() => compileSchedule(businessDay(0), context)).toThrow(/business day must be/);
    expect(() => compileSchedule(businessDay(1, { time: '9am' }), context)).toThrow(ScheduleError);
  });
});
