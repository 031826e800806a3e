/**
 * A validated YAML trigger → its stored record. The schedule is turned into a src/time spec and
 * compiled with `compileSchedule` here, at validation time, so a bad expression, zone or calendar is
 * reported at the line of the field at fault and never reaches the database.
 */
import type { CalendarResolver } from '../time/calendar.js';
import type { DayName } from '../time/civil.js';
import { parseDuration } from '../time/duration.js';
import {
  compileSchedule,
  parseInstant,
  ScheduleError,
  type ScheduleSpec,
  type WallClockOptions,
} from '../time/schedule.js';
import type { TriggerRecord } from '../store/definition-store.js';
import type { SourcePosition } from './definition-error.js';
import { MAX_INT4, SCHEDULE_KEYS, type ScheduleKey, type TriggerInput } from './definition-schema.js';
import { YAML_SOURCE, type TriggerDefinition } from './definitions.js';
import { EntryErrors, type EntryErrorSink } from './entry-errors.js';
import type { DataPath } from './yaml-source.js';

export const DEFAULT_MISFIRE_THRESHOLD_MS = 60_000;
const WALL_CLOCK_KEYS: readonly ScheduleKey[] = [
  'cron',
  'quartz',
  'calendarInterval',
  'dailyInterval',
  'businessDay',
];

export interface TriggerBuildContext extends EntryErrorSink {
  name: string;
  at: SourcePosition;
  calendars: CalendarResolver;
  /** Calendars that are defined but invalid (already reported): triggers using them are not compiled. */
  brokenCalendars: ReadonlySet<string>;
}

export function buildTrigger(input: TriggerInput, ctx: TriggerBuildContext): TriggerDefinition | undefined {
  const errors = new EntryErrors(ctx);
  const fail = errors.fail;
  const key = SCHEDULE_KEYS.find((candidate) => input[candidate] !== undefined)!;
  const wallClock = WALL_CLOCK_KEYS.includes(key);

  if (!wallClock) {
    for (const option of ['timezone', 'onExcludedDay', 'dst', 'weekend'] as const) {
      if (input[option] !== undefined)
        fail([option], `${option} applies to ${WALL_CLOCK_KEYS.join(', ')} schedules, not to ${key}`);
    }
  }
  if (key === 'at' && input.calendar !== undefined)
    fail(['calendar'], 'a one-off trigger (at) cannot use a calendar');
  if (key === 'after')
    for (const option of ['calendar', 'start', 'end', 'count', 'misfire'] as const)
      if (input[option] !== undefined)
        fail([option], `${option} applies to time schedules; a continuation (after) fires on outcomes`);
  if (key === 'businessDay' && input.onExcludedDay !== undefined)
    fail(['onExcludedDay'], 'a businessDay schedule already lands on business days; remove onExcludedDay');

  const instant = (field: 'start' | 'end' | 'at'): Date | null => {
    const text = input[field];
    if (text === undefined) return null;
    try {
      return parseInstant(text, field);
    } catch (error) {
      fail([field], (error as Error).message);
      return null;
    }
  };
  const startAt = instant('start');
  const endAt = instant('end');
  // Checked here so a bad `at` is reported at its line; scheduleSpec parses it again once it is valid.
  if (key === 'at') instant('at');
  if (startAt && endAt && endAt.getTime() <= startAt.getTime()) fail(['end'], 'end must be later than start');
  const threshold =
    input.misfire?.threshold === undefined
      ? DEFAULT_MISFIRE_THRESHOLD_MS
      : parseDuration(input.misfire.threshold);
  if (threshold > MAX_INT4) fail(['misfire', 'threshold'], 'misfire threshold is too long (at most 24 days)');
  if (errors.failed) return undefined;

  const spec = scheduleSpec(input, key, startAt);
  if (spec === undefined) return undefined;
  const calendar = 'calendar' in spec ? spec.calendar : undefined;
  if (calendar === undefined || !ctx.brokenCalendars.has(calendar)) {
    try {
      compileSchedule(spec, { calendars: ctx.calendars });
    } catch (error) {
      if (!(error instanceof ScheduleError)) throw error;
      fail(fieldPath(input, key, error.field), error.message);
      // A bad zone is checked first; check the rest of the schedule in UTC so one run reports both.
      if (error.field === 'timezone' && 'timezone' in spec) {
        try {
          compileSchedule({ ...spec, timezone: 'UTC' }, { calendars: ctx.calendars });
        } catch (second) {
          if (!(second instanceof ScheduleError)) throw second;
          if (second.field !== 'timezone') fail(fieldPath(input, key, second.field), second.message);
        }
      }
      return undefined;
    }
  }

  const record: TriggerRecord = {
    name: ctx.name,
    group: input.group ?? 'default',
    job: input.job,
    kind: spec.kind,
    spec,
    calendarName: calendar ?? null,
    data: input.data ?? null,
    priority: input.priority ?? 0,
    startAt,
    endAt,
    maxFires: input.count ?? null,
    misfirePolicy: input.misfire?.policy ?? 'fire-once-now',
    misfireThresholdMs: threshold,
    source: YAML_SOURCE,
  };
  return { name: ctx.name, record, paused: input.paused, at: ctx.at };
}

function scheduleSpec(input: TriggerInput, key: ScheduleKey, startAt: Date | null): ScheduleSpec | undefined {
  const timezone = input.timezone ?? 'UTC';
  const options: WallClockOptions = dropUndefined({
    calendar: input.calendar,
    onExcludedDay: input.onExcludedDay,
    dst: input.dst,
    weekend: input.weekend as DayName[] | undefined,
  });
  switch (key) {
    case 'cron':
      return { kind: 'cron', expression: input.cron!, timezone, ...options };
    case 'quartz':
      return { kind: 'quartz', expression: input.quartz!, timezone, ...options };
    case 'every':
      return dropUndefined({
        kind: 'interval' as const,
        everyMs: parseDuration(input.every!),
        anchor: startAt?.toISOString(),
        calendar: input.calendar,
      });
    case 'at':
      // Normalized, so that `2030-01-01T10:00:00+01:00` and `…09:00:00Z` are the same schedule.
      return { kind: 'once', at: parseInstant(input.at!, 'at').toISOString() };
    case 'calendarInterval': {
      const { every, unit, start } = input.calendarInterval!;
      return { kind: 'calendar-interval', every, unit, start, timezone, ...options };
    }
    case 'dailyInterval': {
      const { every, from, to, days } = input.dailyInterval!;
      return dropUndefined({
        kind: 'daily-interval' as const,
        everyMs: parseDuration(every),
        from,
        to,
        days: days as DayName[] | undefined,
        timezone,
        ...options,
      });
    }
    case 'after': {
      const { job, on, all, within } = input.after!;
      return dropUndefined({
        kind: 'after' as const,
        job,
        on,
        all,
        withinMs: within === undefined ? undefined : parseDuration(within),
      });
    }
    case 'businessDay': {
      const { day, time, months } = input.businessDay!;
      return dropUndefined({
        kind: 'business-day' as const,
        day,
        time,
        timezone,
        calendar: input.calendar,
        weekend: input.weekend as DayName[] | undefined,
        months,
        dst: input.dst,
      });
    }
  }
}

/**
 * The YAML path of the field a ScheduleError names: inside the schedule's own map first (from, to,
 * start of a calendarInterval…), then a key of the trigger (timezone, calendar, start…), else the
 * schedule key itself (cron, quartz, every, at).
 */
function fieldPath(input: TriggerInput, key: ScheduleKey, field: string): DataPath {
  const value = input[key];
  if (value !== null && typeof value === 'object' && field in value) return [key, field];
  if (field !== key && field in input && input[field as keyof TriggerInput] !== undefined) return [field];
  return [key];
}

function dropUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
