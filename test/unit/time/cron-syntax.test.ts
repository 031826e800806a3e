import { describe, expect, it } from 'vitest';
import { parseCronExpression } from '../../../src/time/cron-syntax.js';
import { ScheduleError } from '../../../src/time/schedule.js';

function errorOf(expression: string, dialect: 'cron' | 'quartz'): ScheduleError {
  try {
    parseCronExpression(expression, dialect);
  } catch (error) {
    expect(error).toBeInstanceOf(ScheduleError);
    return error as ScheduleError;
  }
  throw new Error(`"${expression}" was accepted`);
}

describe('cron syntax', () => {
  it.each([
    ['0 0 9 ? * MON-FRI', [1, 2, 3, 4, 5]],
    ['0 0 9 ? * 2-6', [1, 2, 3, 4, 5]],
    ['0 0 9 ? * FRI-MON', [0, 1, 5, 6]],
    ['0 0 9 ? * 1,7', [0, 6]],
    ['0 0 9 ? * L', [6]],
  ])('quartz day of week %s (1 = Sunday) normalizes to %j', (expression, weekdays) => {
    expect(parseCronExpression(expression, 'quartz').dayOfWeek?.weekdays).toEqual(weekdays);
  });

  it.each([
    ['0 9 * * 1-5', [1, 2, 3, 4, 5]],
    ['0 9 * * 0', [0]],
    ['0 9 * * 7', [0]],
    ['0 9 * * 5-7', [0, 5, 6]],
    ['0 9 * * FRI-MON', [0, 1, 5, 6]],
    ['0 9 * * SAT-SUN', [0, 6]],
  ])('cron day of week %s (0 and 7 = Sunday) normalizes to %j', (expression, weekdays) => {
    expect(parseCronExpression(expression, 'cron').dayOfWeek?.weekdays).toEqual(weekdays);
  });

  it('parses the day specials', () => {
    const dom = parseCronExpression('0 0 0 L-3,LW,15W,1 * ?', 'quartz').dayOfMonth!;
    expect(dom).toEqual({ days: [1], fromLast: [3], nearestWeekday: [15], lastWeekday: true });
    const dow = parseCronExpression('0 0 0 ? * 6L,2#1,FRI#3', 'quartz').dayOfWeek!;
    expect(dow).toEqual({
      weekdays: [],
      lastInMonth: [5],
      nth: [
        [1, 1],
        [5, 3],
      ],
    });
    expect(parseCronExpression('0 0 * * 5L', 'cron').dayOfWeek!.lastInMonth).toEqual([5]);
  });

  it('expands steps, wrapping ranges, names and years', () => {
    const fields = parseCronExpression('*/20 10/15 22-2 1-10/3 NOV-FEB ? 2030-2032', 'quartz');
    expect(fields.seconds).toEqual([0, 20, 40]);
    expect(fields.minutes).toEqual([10, 25, 40, 55]);
    expect(fields.hours).toEqual([0, 1, 2, 22, 23]);
    expect(fields.dayOfMonth!.days).toEqual([1, 4, 7, 10]);
    expect(fields.months).toEqual([1, 2, 11, 12]);
    expect(fields.years).toEqual([2030, 2031, 2032]);
  });

  it('ORs the day fields in cron when both are restricted (Vixie), ANDs them when one starts with *', () => {
    expect(parseCronExpression('0 0 1,15 * MON', 'cron').dayCombination).toBe('or');
    expect(parseCronExpression('0 0 */2 * MON', 'cron').dayCombination).toBe('and');
  });

  it('accepts the @ macros in the cron dialect', () => {
    expect(parseCronExpression('@daily', 'cron').hours).toEqual([0]);
  });

  it.each([
    ['0 0 9 * * MON', 'quartz', 'day-of-month', 'exactly one of day-of-month and day-of-week must be "?"'],
    ['0 0 9 ? * ?', 'quartz', 'day-of-week', 'exactly one'],
    ['0 0 25 ? * *', 'quartz', 'hour', '25 is out of range 0-23'],
    ['0 60 9 ? * *', 'quartz', 'minute', '60 is out of range 0-59'],
    ['61 0 9 ? * *', 'quartz', 'second', 'out of range'],
    ['0 0 9 ? * 8', 'quartz', 'day-of-week', '8 is out of range 1-7'],
    ['0 0 9 ? * 0', 'quartz', 'day-of-week', '0 is out of range 1-7'],
    ['0 0 9 ? * MON-FRX', 'quartz', 'day-of-week', '"FRX"'],
    ['0 0 9 ? * 6#6', 'quartz', 'day-of-week', 'week number'],
    ['0 0 9 32 * ?', 'quartz', 'day-of-month', '32 is out of range'],
    ['0 0 9 L-31 * ?', 'quartz', 'day-of-month', 'L-n'],
    ['0 0 9 ? 13 MON', 'quartz', 'month', '13 is out of range 1-12'],
    ['0 0 9 ? * MON 1960', 'quartz', 'year', 'out of range'],
    ['0 0 9 ? * MON 2032-2030', 'quartz', 'year', 'backwards'],
    ['0 0 9 ? */0 MON', 'quartz', 'month', 'step'],
    ['0 9 * * 8', 'cron', 'day-of-week', '8 is out of range 0-7'],
    ['0 9 * *', 'cron', '', 'has 4 fields'],
    ['0 0 9 * *', 'quartz', '', 'has 5 fields'],
    ['0 9 1,,2 * *', 'cron', 'day-of-month', 'empty list item'],
  ] as const)('rejects %s (%s) naming the %s field', (expression, dialect, field, text) => {
    const error = errorOf(expression, dialect);
    expect(error.field).toBe(dialect);
    expect(error.code).toBe('BELFRY_ERR_BAD_SCHEDULE');
    if (field) expect(error.message).toContain(`in its ${field} field`);
    expect(error.message).toContain(text);
  });
});
