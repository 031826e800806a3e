/**
 * Schedule math throughput, on one core: next-fire computations per second for a typical Quartz
 * expression with a holiday calendar, and the cost of a year of previews.
 *
 *   npx tsx bench/time-bench.ts
 */
import { createCalendarResolver } from '../src/time/calendar-resolver.js';
import { previewSchedule } from '../src/time/preview.js';
import { compileSchedule, type ScheduleSpec } from '../src/time/schedule.js';

const calendars = createCalendarResolver();
const START = Date.UTC(2024, 0, 1);
const END = Date.UTC(2040, 0, 1);

function nextPerSecond(label: string, spec: ScheduleSpec, iterations = 300_000): void {
  const schedule = compileSchedule(spec, { calendars });
  let after = new Date(START);
  for (let i = 0; i < 10_000; i++) after = schedule.next(after) ?? new Date(START); // warm up
  after = new Date(START);
  const started = performance.now();
  for (let i = 0; i < iterations; i++) {
    const next = schedule.next(after);
    after = next === null || next.getTime() > END ? new Date(START) : next;
  }
  const seconds = (performance.now() - started) / 1000;
  console.log(
    `${label.padEnd(62)} ${Math.round(iterations / seconds)
      .toLocaleString('en-US')
      .padStart(12)} next()/s`,
  );
}

const nyse = (expression: string): ScheduleSpec => ({
  kind: 'quartz',
  expression,
  timezone: 'America/New_York',
  calendar: 'us-nyse',
});

nextPerSecond('quartz "0 0 9 ? * MON-FRI", America/New_York, us-nyse', nyse('0 0 9 ? * MON-FRI'));
nextPerSecond('quartz "0 0 9 ? * MON-FRI", America/New_York, no calendar', {
  kind: 'quartz',
  expression: '0 0 9 ? * MON-FRI',
  timezone: 'America/New_York',
});
nextPerSecond('quartz "0 0/15 9-17 ? * MON-FRI", us-nyse', nyse('0 0/15 9-17 ? * MON-FRI'));
nextPerSecond('quartz "0 0 17 LW * ?", us-nyse, previous-business-day', {
  ...nyse('0 0 17 LW * ?'),
  onExcludedDay: 'previous-business-day',
} as ScheduleSpec);
nextPerSecond('cron "*/5 * * * *", Europe/London', {
  kind: 'cron',
  expression: '*/5 * * * *',
  timezone: 'Europe/London',
});
nextPerSecond('business-day: last, 09:00, us-nyse', {
  kind: 'business-day',
  day: -1,
  time: '09:00',
  timezone: 'America/New_York',
  calendar: 'us-nyse',
});

// A year of previews: every weekday fire of a year, with explanations.
const schedule = compileSchedule(nyse('0 0 9 ? * MON-FRI'), { calendars });
const rounds = 200;
const started = performance.now();
let fires = 0;
for (let i = 0; i < rounds; i++)
  fires = previewSchedule(schedule, { from: new Date(Date.UTC(2024 + (i % 10), 0, 1)), count: 252 }).length;
const msPerYear = (performance.now() - started) / rounds;
console.log(
  `a year of previews (${fires} fires with explanations, us-nyse)`.padEnd(62),
  `${msPerYear.toFixed(3).padStart(12)} ms`,
);
