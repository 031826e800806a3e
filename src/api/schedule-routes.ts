/**
 * The schedule ahead, computed from the stored definitions by the same schedule code the engine fires
 * with (time/schedule.ts, time/preview.ts): the next 24 hours of fires across all triggers as per-minute
 * counts with their hotspots, a trigger's next fires with the calendar's explanations, and a trigger's
 * month with its fires and the days its calendar excludes.
 *
 * The engine decides fires (invariant 6); this only previews them. It starts from each trigger's stored
 * next fire time, so a preview agrees with what the planner will do unless the definitions change.
 * Reading every trigger is one query; the computation is pure and cached per replica for 30 s, so a room
 * of open dashboards costs one query per replica per 30 s at most.
 */
import { DateTime } from 'luxon';
import { z } from 'zod';
import { listCalendars, listTriggers, type StoredTrigger } from '../store/definition-store.js';
import type { Executor } from '../store/executor.js';
import { requireTrigger } from '../operations/name-checks.js';
import type { CalendarResolver, CalendarSpec } from '../time/calendar.js';
import { createCalendarResolver } from '../time/calendar-resolver.js';
import type { Clock } from '../time/clock.js';
import { previewSchedule, type PreviewFire } from '../time/preview.js';
import { compileSchedule, type CompiledSchedule, type ScheduleSpec } from '../time/schedule.js';
import { invalidRequest } from './problem.js';
import { route, type ApiRoute } from './route.js';
import { describeSchedule } from './schedule-words.js';
import { instant, nameParams } from './wire.js';

const MINUTE = 60_000;
const AHEAD_MS = 24 * 60 * MINUTE;
/** A trigger that fires more often than every minute is counted up to this many fires in 24 h. */
const MAX_FIRES_PER_TRIGGER = 1_440;
const CACHE_MS = 30_000;

interface Compiled {
  trigger: StoredTrigger;
  schedule: CompiledSchedule | null;
  error: string | null;
}

/** The stored calendars, by name. */
async function calendarResolver(executor: Executor): Promise<CalendarResolver> {
  const rows = await listCalendars(executor);
  return createCalendarResolver(Object.fromEntries(rows.map((c) => [c.name, c.spec as CalendarSpec])));
}

/** Every trigger not complete, compiled. */
async function compiledTriggers(executor: Executor): Promise<Compiled[]> {
  const [triggers, calendars] = await Promise.all([listTriggers(executor, {}), calendarResolver(executor)]);
  return triggers.map((trigger) => compileOne(trigger, calendars));
}

/** One trigger, compiled; an unknown name is a 404, a completed trigger is found (with no fires ahead). */
async function compiledTrigger(executor: Executor, name: string): Promise<Compiled> {
  const [trigger, calendars] = await Promise.all([
    requireTrigger(executor, name),
    calendarResolver(executor),
  ]);
  return compileOne(trigger, calendars);
}

function compileOne(trigger: StoredTrigger, calendars: CalendarResolver): Compiled {
  try {
    return { trigger, schedule: compileSchedule(trigger.spec as ScheduleSpec, { calendars }), error: null };
  } catch (error) {
    return { trigger, schedule: null, error: (error as Error).message };
  }
}

/** The fires of one trigger in [from, until), starting at its stored next fire. */
export function firesBetween(entry: Compiled, from: number, until: number, max: number): number[] {
  const { trigger, schedule } = entry;
  if (!schedule || trigger.state !== 'waiting' || !trigger.nextFireAt) return [];
  const end = Math.min(until, trigger.endAt ? trigger.endAt.getTime() + 1 : Infinity);
  let left = trigger.maxFires === null ? max : Math.min(max, trigger.maxFires - trigger.timesFired);
  const fires: number[] = [];
  let at: number | null = trigger.nextFireAt.getTime();
  while (at !== null && at < end && left > 0) {
    if (at >= from) {
      fires.push(at);
      left -= 1;
    }
    const next: Date | null = schedule.next(new Date(at));
    at = next ? next.getTime() : null;
  }
  return fires;
}

export interface ScheduleAhead {
  from: string;
  until: string;
  groups: string[];
  /** Fires per minute from `from`, 1,440 buckets. */
  perMinute: number[];
  byGroup: Record<string, number[]>;
  hotspots: { at: string; fires: number; triggers: string[] }[];
  upcoming: { at: string; trigger: string; group: string; job: string }[];
  triggers: number;
  fires: number;
  paused: number;
  /** Triggers whose count was capped at MAX_FIRES_PER_TRIGGER. */
  capped: string[];
  unplannable: { trigger: string; error: string }[];
}

/** Pure: the per-minute picture of the next 24 h from compiled triggers. */
export function scheduleAhead(entries: Compiled[], now: Date, group?: string): ScheduleAhead {
  const from = Math.floor(now.getTime() / MINUTE) * MINUTE;
  const until = from + AHEAD_MS;
  const perMinute = new Array<number>(AHEAD_MS / MINUTE).fill(0);
  const byGroup: Record<string, number[]> = {};
  const minuteTriggers = new Map<number, string[]>();
  const upcoming: ScheduleAhead['upcoming'] = [];
  const capped: string[] = [];
  const unplannable: ScheduleAhead['unplannable'] = [];
  const groups = new Set<string>();
  let fires = 0;
  let paused = 0;
  let triggers = 0;
  for (const entry of entries) {
    const t = entry.trigger;
    groups.add(t.group);
    if (group && t.group !== group) continue;
    triggers += 1;
    if (t.state === 'paused') paused += 1;
    if (entry.error) unplannable.push({ trigger: t.name, error: entry.error });
    const times = firesBetween(entry, now.getTime(), until, MAX_FIRES_PER_TRIGGER);
    if (times.length === MAX_FIRES_PER_TRIGGER) capped.push(t.name);
    const lane = (byGroup[t.group] ??= new Array<number>(perMinute.length).fill(0));
    for (const at of times) {
      const minute = Math.floor((at - from) / MINUTE);
      perMinute[minute]! += 1;
      lane[minute]! += 1;
      const names = minuteTriggers.get(minute) ?? [];
      if (names.length < 20) names.push(t.name);
      minuteTriggers.set(minute, names);
      if (upcoming.length < 2_000)
        upcoming.push({ at: new Date(at).toISOString(), trigger: t.name, group: t.group, job: t.job });
    }
    fires += times.length;
  }
  upcoming.sort((a, b) => a.at.localeCompare(b.at) || a.trigger.localeCompare(b.trigger));
  const hotspots = perMinute
    .map((count, minute) => ({ minute, count }))
    .filter((m) => m.count > 1)
    .sort((a, b) => b.count - a.count || a.minute - b.minute)
    .slice(0, 10)
    .map(({ minute, count }) => ({
      at: new Date(from + minute * MINUTE).toISOString(),
      fires: count,
      triggers: minuteTriggers.get(minute) ?? [],
    }));
  return {
    from: new Date(from).toISOString(),
    until: new Date(until).toISOString(),
    groups: [...groups].sort(),
    perMinute,
    byGroup,
    hotspots,
    upcoming: upcoming.slice(0, 500),
    triggers,
    fires,
    paused,
    capped: capped.slice(0, 50),
    unplannable: unplannable.slice(0, 50),
  };
}

const cache = new WeakMap<object, { atMs: number; entries: Compiled[] }>();

async function cachedTriggers(executor: Executor, clock: Clock): Promise<Compiled[]> {
  const hit = cache.get(executor.db);
  if (hit && clock.monotonicMs() - hit.atMs < CACHE_MS) return hit.entries;
  const entries = await compiledTriggers(executor);
  cache.set(executor.db, { atMs: clock.monotonicMs(), entries });
  return entries;
}

const explanationSchema = z.object({ calendar: z.string(), reason: z.string() });
const previewFireSchema = z.object({
  at: instant('the fire'),
  local: z.string().describe("local time with offset, in the schedule's zone"),
  movedFrom: explanationSchema.extend({ at: z.string(), local: z.string(), rule: z.string() }).optional(),
  skipped: z
    .array(explanationSchema.extend({ date: z.string(), fires: z.number().int(), firstFire: z.string() }))
    .optional()
    .describe('days skipped since the previous fire, with the calendar and holiday that excluded them'),
});

function startOfPreview(trigger: StoredTrigger, now: Date): Date {
  const next = trigger.nextFireAt;
  if (!next) return now;
  const previous = trigger.previousFireAt;
  // From the previous fire, so the first fire's explanation covers the days skipped to reach it.
  if (previous && previous < next && next.getTime() - previous.getTime() < 400 * 24 * 60 * MINUTE)
    return previous;
  return new Date(next.getTime() - 1);
}

function nextFires(entry: Compiled, now: Date, count: number): PreviewFire[] {
  if (!entry.schedule || entry.trigger.state === 'complete') return [];
  const fires = previewSchedule(entry.schedule, { from: startOfPreview(entry.trigger, now), count });
  const end = entry.trigger.endAt?.getTime() ?? Infinity;
  return fires.filter((f) => Date.parse(f.at) <= end);
}

const monthQuery = z
  .object({
    month: z
      .string()
      .regex(/^\d{4}-(0[1-9]|1[0-2])$/, 'must be YYYY-MM')
      .describe('default: this month'),
  })
  .partial()
  .strict();

export const scheduleRoutes: ApiRoute[] = [
  route({
    method: 'GET',
    path: '/schedule/ahead',
    operationId: 'getScheduleAhead',
    tag: 'triggers',
    summary: 'The next 24 hours of fires across all triggers: per-minute counts, hotspots, the next fires',
    query: z
      .object({ group: z.string().min(1).max(300).describe('only this group') })
      .partial()
      .strict(),
    status: 200,
    response: z.record(z.string(), z.unknown()).describe('ScheduleAhead: see src/api/schedule-routes.ts'),
    responseDescription: 'the schedule ahead',
    problems: [400],
    async handle({ query }, { executor, clock }) {
      const entries = await cachedTriggers(executor, clock);
      return scheduleAhead(entries, clock.now(), query.group) as unknown as Record<string, unknown>;
    },
  }),
  route({
    method: 'GET',
    path: '/triggers/:name/schedule',
    operationId: 'getTriggerSchedule',
    tag: 'triggers',
    summary: "A trigger's schedule in words and its next fires, each with the calendar's explanation",
    params: nameParams,
    query: z
      .object({
        count: z
          .string()
          .regex(/^\d{1,3}$/)
          .describe('fires (default 10, at most 100)'),
      })
      .partial()
      .strict(),
    status: 200,
    response: z
      .object({
        trigger: z.string(),
        words: z.string().describe('the schedule in words'),
        timezone: z.string().nullable(),
        calendar: z.string().nullable(),
        error: z.string().nullable().describe('why the schedule cannot be computed, if it cannot'),
        next: z.array(previewFireSchema),
      })
      .meta({ id: 'TriggerSchedule' }),
    responseDescription: 'the schedule',
    problems: [400, 404],
    async handle({ params, query }, { executor, clock }) {
      const entry = await compiledTrigger(executor, params.name);
      const count = Math.min(Math.max(Number(query.count ?? 10), 1), 100);
      const { trigger } = entry;
      return {
        trigger: trigger.name,
        words: describeSchedule(trigger.spec as ScheduleSpec),
        timezone: entry.schedule?.timezone ?? null,
        calendar: trigger.calendarName,
        error: entry.error,
        next:
          trigger.state === 'waiting' || trigger.state === 'paused'
            ? nextFires(entry, clock.now(), count)
            : [],
      };
    },
  }),
  route({
    method: 'GET',
    path: '/triggers/:name/month',
    operationId: 'getTriggerMonth',
    tag: 'triggers',
    summary: "A month of a trigger's fires, with the days its calendar excludes and why",
    params: nameParams,
    query: monthQuery,
    status: 200,
    response: z
      .object({
        trigger: z.string(),
        month: z.string(),
        timezone: z.string(),
        calendar: z.string().nullable(),
        days: z.array(
          z.object({
            date: z.string().describe('YYYY-MM-DD in the schedule’s zone'),
            fires: z.array(instant('a fire')),
            excluded: explanationSchema.nullable().describe('the calendar excludes this day: which and why'),
            moved: z.array(explanationSchema.extend({ to: z.string(), rule: z.string() })),
          }),
        ),
      })
      .meta({ id: 'TriggerMonth' }),
    responseDescription: 'the month',
    problems: [400, 404],
    async handle({ params, query }, { executor, clock }) {
      const { trigger, schedule } = await compiledTrigger(executor, params.name);
      const zone = schedule?.timezone ?? 'UTC';
      const month = query.month ?? DateTime.fromJSDate(clock.now(), { zone }).toFormat('yyyy-MM');
      const start = DateTime.fromFormat(month, 'yyyy-MM', { zone });
      if (!start.isValid) throw invalidRequest(`invalid query month: ${month}`);
      const end = start.plus({ months: 1 });
      const days = new Map<
        string,
        { fires: string[]; moved: { calendar: string; reason: string; to: string; rule: string }[] }
      >();
      for (let d = start; d < end; d = d.plus({ days: 1 }))
        days.set(d.toISODate()!, { fires: [], moved: [] });
      if (schedule) {
        const fires = previewSchedule(schedule, { from: new Date(start.toMillis() - 1), count: 3_000 });
        for (const fire of fires) {
          if (Date.parse(fire.at) >= end.toMillis()) break;
          days.get(fire.local.slice(0, 10))?.fires.push(fire.at);
          const moved = fire.movedFrom;
          if (moved)
            days.get(moved.local.slice(0, 10))?.moved.push({
              calendar: moved.calendar,
              reason: moved.reason,
              to: fire.at,
              rule: moved.rule,
            });
        }
      }
      const calendarName = trigger.calendarName;
      const calendar = calendarName
        ? (await calendarResolver(executor))(calendarName)?.inZone(zone)
        : undefined;
      return {
        trigger: trigger.name,
        month,
        timezone: zone,
        calendar: calendarName,
        days: [...days].map(([date, day]) => {
          const noon = DateTime.fromISO(`${date}T12:00`, { zone }).toMillis();
          const exclusion = calendar?.exclusionAt(noon) ?? null;
          return {
            date,
            fires: day.fires,
            excluded: exclusion ? { calendar: exclusion.calendar, reason: exclusion.reason } : null,
            moved: day.moved,
          };
        }),
      };
    },
  }),
];
