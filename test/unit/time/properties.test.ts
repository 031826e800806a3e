import { CronExpressionParser } from 'cron-parser';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createCalendarResolver } from '../../../src/time/calendar-resolver.js';
import { civilFromDays, daysInMonth, MS_PER_DAY } from '../../../src/time/civil.js';
import { CronMatcher } from '../../../src/time/cron-matcher.js';
import { parseCronExpression } from '../../../src/time/cron-syntax.js';
import { previewSchedule } from '../../../src/time/preview.js';
import { compileSchedule, type OnExcludedDay, type ScheduleSpec } from '../../../src/time/schedule.js';
import { ZoneRules } from '../../../src/time/zone-rules.js';

const calendars = createCalendarResolver();
const instant = fc.integer({ min: Date.UTC(2000, 0, 1), max: Date.UTC(2036, 0, 1) });
const zone = fc.constantFrom(
  'UTC',
  'America/New_York',
  'Europe/London',
  'Australia/Lord_Howe',
  'Pacific/Apia',
  'Asia/Kolkata',
  'America/Sao_Paulo',
);

const quartzExpression = fc
  .record({
    second: fc.constantFrom('0', '*/15', '0,30', '5-10'),
    minute: fc.constantFrom('0', '*/7', '15,45', '0-59/20', '*'),
    hour: fc.constantFrom('*', '9', '0-23/5', '22-2', '1-3', '9-17'),
    month: fc.constantFrom('*', 'JAN-MAR', '2', '*/4', 'NOV-FEB'),
    day: fc.oneof(
      fc
        .constantFrom('*', '1', 'L', 'L-2', '15W', 'LW', '1W', '1-10/3', '31', '29')
        .map((dom) => `${dom} MONTH ?`),
      fc
        .constantFrom('*', 'MON-FRI', 'FRI-MON', '6L', '2#1', '1,7', 'SUN', '6#5')
        .map((dow) => `? MONTH ${dow}`),
    ),
  })
  .map(
    ({ second, minute, hour, month, day }) => `${second} ${minute} ${hour} ${day.replace('MONTH', month)}`,
  );

function take(spec: ScheduleSpec, from: number, count: number): number[] {
  const schedule = compileSchedule(spec, { calendars });
  const out: number[] = [];
  let after = new Date(from);
  for (let i = 0; i < count; i++) {
    const next = schedule.next(after);
    if (!next) break;
    out.push(next.getTime());
    after = next;
  }
  return out;
}

describe('properties', () => {
  it('each fire is later than the one before and matches the expression (exact DST policy)', () => {
    fc.assert(
      fc.property(quartzExpression, zone, instant, (expression, timezone, from) => {
        const spec: ScheduleSpec = {
          kind: 'quartz',
          expression,
          timezone,
          dst: { gap: 'skip', overlap: 'twice' },
        };
        const matcher = new CronMatcher(parseCronExpression(expression, 'quartz'));
        const rules = ZoneRules.for(timezone);
        let previous = from;
        for (const fire of take(spec, from, 15)) {
          expect(fire).toBeGreaterThan(previous);
          expect(matcher.matches(rules.toLocal(fire))).toBe(true);
          previous = fire;
        }
      }),
      { numRuns: 300 },
    );
  });

  it('with the default DST policy, fires still increase and match, or sit at the end of a spring gap', () => {
    fc.assert(
      fc.property(quartzExpression, zone, instant, (expression, timezone, from) => {
        const matcher = new CronMatcher(parseCronExpression(expression, 'quartz'));
        const rules = ZoneRules.for(timezone);
        let previous = from;
        for (const fire of take({ kind: 'quartz', expression, timezone }, from, 15)) {
          expect(fire).toBeGreaterThan(previous);
          const segment = rules.segmentAt(fire);
          const atGapEnd = segment.start === fire && segment.previousOffset < segment.offset;
          expect(atGapEnd || matcher.matches(rules.toLocal(fire))).toBe(true);
          previous = fire;
        }
      }),
      { numRuns: 300 },
    );
  });

  it('agrees with cron-parser on plain cron expressions in UTC', () => {
    const cronExpression = fc
      .record({
        second: fc.constantFrom('0', '*/15', '0,30'),
        minute: fc.constantFrom('0', '*/7', '15,45', '*'),
        hour: fc.constantFrom('*', '9', '0-23/5', '9-17'),
        month: fc.constantFrom('*', '1-3', '2', '*/4'),
        day: fc.oneof(
          fc.constantFrom('1', '15', '1-10/3', '31', 'L').map((dom) => `${dom} MONTH *`),
          fc.constantFrom('1-5', '0', '6', '5#2').map((dow) => `* MONTH ${dow}`),
        ),
      })
      .map(
        ({ second, minute, hour, month, day }) =>
          `${second} ${minute} ${hour} ${day.replace('MONTH', month)}`,
      );
    fc.assert(
      fc.property(cronExpression, instant, (expression, from) => {
        const ours = take({ kind: 'cron', expression, timezone: 'UTC' }, from, 10);
        let theirs;
        try {
          theirs = CronExpressionParser.parse(expression, { currentDate: new Date(from), tz: 'UTC' });
        } catch {
          // cron-parser refuses days that never exist (31 February); we accept them and never fire.
          expect(ours).toEqual([]);
          return;
        }
        const expected = ours.map(() => theirs.next().getTime());
        expect(ours).toEqual(expected);
      }),
      { numRuns: 150 },
    );
  });

  it('never fires on an excluded day, whatever the rule', () => {
    const rule = fc.constantFrom<OnExcludedDay>(
      'skip',
      'next-business-day',
      'previous-business-day',
      'modified-following',
    );
    const calendarName = fc.constantFrom('us-nyse', 'uk-england-wales', 'target2', 'jp');
    fc.assert(
      fc.property(
        quartzExpression,
        rule,
        calendarName,
        fc.integer({ min: Date.UTC(2020, 0, 1), max: Date.UTC(2039, 0, 1) }),
        (expression, onExcludedDay, calendar, from) => {
          const timezone = 'Europe/Paris';
          const spec: ScheduleSpec = { kind: 'quartz', expression, timezone, calendar, onExcludedDay };
          const bound = calendars(calendar)!.inZone(timezone);
          let previous = from;
          for (const fire of take(spec, from, 10)) {
            expect(fire).toBeGreaterThan(previous);
            expect(bound.isTimeIncluded(fire)).toBe(true);
            previous = fire;
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it('the preview shows exactly what next() fires', () => {
    fc.assert(
      fc.property(quartzExpression, zone, instant, (expression, timezone, from) => {
        const spec: ScheduleSpec = { kind: 'quartz', expression, timezone, calendar: 'us-federal' };
        const preview = previewSchedule(compileSchedule(spec, { calendars }), {
          from: new Date(from),
          count: 8,
        });
        expect(preview.map((fire) => new Date(fire.at).getTime())).toEqual(take(spec, from, 8));
      }),
      { numRuns: 100 },
    );
  });

  it('monthly calendar intervals land on the start day, or the last day of shorter months', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 31 }),
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 5 }),
        zone,
        (day, month, every, timezone) => {
          const startDay = Math.min(day, daysInMonth(2024, month));
          const start = `2024-${String(month).padStart(2, '0')}-${String(startDay).padStart(2, '0')}T10:00`;
          const rules = ZoneRules.for(timezone);
          for (const fire of take(
            { kind: 'calendar-interval', every, unit: 'month', start, timezone },
            Date.UTC(2023, 0, 1),
            24,
          )) {
            const local = civilFromDays(Math.floor(rules.toLocal(fire) / MS_PER_DAY));
            expect(local.day).toBe(Math.min(startDay, daysInMonth(local.year, local.month)));
          }
        },
      ),
      { numRuns: 100 },
    );
  });
});
