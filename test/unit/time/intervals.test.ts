import { describe, expect, it } from 'vitest';
import { compileSchedule, ScheduleError, type ScheduleSpec } from '../../../src/time/schedule.js';
import { fires } from './fires.js';

const calendarInterval = (
  every: number,
  unit: 'day' | 'week' | 'month' | 'year',
  start: string,
  timezone = 'UTC',
): ScheduleSpec => ({
  kind: 'calendar-interval',
  every,
  unit,
  start,
  timezone,
});

describe('calendar intervals', () => {
  it('keeps the 31st, falling back to the last day of shorter months', () => {
    expect(fires(calendarInterval(1, 'month', '2024-01-31T09:00'), '2024-01-01T00:00:00Z', 6)).toEqual([
      '2024-01-31T09:00:00Z',
      '2024-02-29T09:00:00Z',
      '2024-03-31T09:00:00Z',
      '2024-04-30T09:00:00Z',
      '2024-05-31T09:00:00Z',
      '2024-06-30T09:00:00Z',
    ]);
    expect(fires(calendarInterval(1, 'month', '2023-01-31T00:00'), '2023-02-01T00:00:00Z', 1)).toEqual([
      '2023-02-28T00:00:00Z',
    ]);
  });

  it('fires on 28 February in common years for a 29 February start', () => {
    expect(fires(calendarInterval(1, 'year', '2024-02-29T12:00'), '2024-03-01T00:00:00Z', 4)).toEqual([
      '2025-02-28T12:00:00Z',
      '2026-02-28T12:00:00Z',
      '2027-02-28T12:00:00Z',
      '2028-02-29T12:00:00Z',
    ]);
  });

  it('counts days, weeks and quarters from the start', () => {
    expect(fires(calendarInterval(3, 'day', '2024-02-27T06:00'), '2024-02-27T06:00:00Z', 2)).toEqual([
      '2024-03-01T06:00:00Z',
      '2024-03-04T06:00:00Z',
    ]);
    expect(fires(calendarInterval(2, 'week', '2024-01-01T08:30'), '2024-01-02T00:00:00Z', 2)).toEqual([
      '2024-01-15T08:30:00Z',
      '2024-01-29T08:30:00Z',
    ]);
    expect(fires(calendarInterval(3, 'month', '2024-11-30T00:00'), '2024-12-01T00:00:00Z', 2)).toEqual([
      '2025-02-28T00:00:00Z',
      '2025-05-30T00:00:00Z',
    ]);
    expect(fires(calendarInterval(1, 'day', '2030-01-01T00:00'), '2024-01-01T00:00:00Z', 1)).toEqual([
      '2030-01-01T00:00:00Z',
    ]);
  });

  it('rejects a bad start or count', () => {
    expect(() => compileSchedule(calendarInterval(1, 'month', '2024-02-30T09:00'))).toThrow(ScheduleError);
    expect(() => compileSchedule(calendarInterval(0, 'month', '2024-02-01T09:00'))).toThrow(/at least 1/);
  });
});

describe('daily time intervals', () => {
  const spec: ScheduleSpec = {
    kind: 'daily-interval',
    everyMs: 15 * 60_000,
    from: '09:00',
    to: '17:00',
    days: ['MON', 'TUE', 'WED', 'THU', 'FRI'],
    timezone: 'America/New_York',
  };

  it('fires every 15 minutes from 09:00 to 17:00 (both included) on weekdays', () => {
    // Friday 5 January 2024, 16:50 EST → 17:00, then Monday 09:00.
    expect(fires(spec, '2024-01-05T21:50:00Z', 3)).toEqual([
      '2024-01-05T22:00:00Z',
      '2024-01-08T14:00:00Z',
      '2024-01-08T14:15:00Z',
    ]);
  });

  it('restarts at "from" each day, even when the step does not divide the range', () => {
    const odd: ScheduleSpec = { ...spec, everyMs: 25 * 60_000, from: '09:00', to: '10:00', timezone: 'UTC' };
    expect(fires(odd, '2024-01-08T09:30:00Z', 3)).toEqual([
      '2024-01-08T09:50:00Z',
      '2024-01-09T09:00:00Z',
      '2024-01-09T09:25:00Z',
    ]);
  });

  it('rejects sub-second steps and backwards ranges', () => {
    expect(() => compileSchedule({ ...spec, everyMs: 1500 })).toThrow(/whole number of seconds/);
    expect(() => compileSchedule({ ...spec, from: '17:00', to: '09:00' })).toThrow(ScheduleError);
    expect(() => compileSchedule({ ...spec, days: ['XYZ' as 'MON'] })).toThrow(/not a day name/);
  });
});

describe('kept kinds', () => {
  it('interval, once and cron keep their shapes and meaning', () => {
    expect(fires({ kind: 'interval', everyMs: 30_000 }, '2024-01-01T00:00:10Z', 2)).toEqual([
      '2024-01-01T00:00:30Z',
      '2024-01-01T00:01:00Z',
    ]);
    expect(
      fires({ kind: 'interval', everyMs: 60_000, anchor: '2024-01-01T00:00:05Z' }, '2023-12-31T00:00:00Z', 2),
    ).toEqual(['2024-01-01T00:00:05Z', '2024-01-01T00:01:05Z']);
    expect(fires({ kind: 'once', at: '2024-01-01T00:00:00Z' }, '2023-01-01T00:00:00Z', 2)).toEqual([
      '2024-01-01T00:00:00Z',
    ]);
    expect(
      fires({ kind: 'cron', expression: '0 9 * * 1-5', timezone: 'Europe/Paris' }, '2024-01-05T09:00:00Z', 1),
    ).toEqual(['2024-01-08T08:00:00Z']);
  });

  it('rejects bad zones and instants with the field at fault', () => {
    const check = (spec: ScheduleSpec, field: string) => {
      try {
        compileSchedule(spec);
        expect.unreachable();
      } catch (error) {
        expect((error as ScheduleError).field).toBe(field);
      }
    };
    check({ kind: 'cron', expression: '0 9 * * *', timezone: 'Mars/Olympus' }, 'timezone');
    check({ kind: 'once', at: '2024-01-01T00:00:00' }, 'at');
    check({ kind: 'interval', everyMs: 0 }, 'every');
    check({ kind: 'quartz', expression: '0 9 * * *', timezone: 'UTC' }, 'quartz');
  });
});
