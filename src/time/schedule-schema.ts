/**
 * zod schemas for the stored JSON shapes: schedule specs (`triggers.spec`) and calendar specs. They check
 * shape only; `compileSchedule` and `compileCalendar` check meaning (expressions, zones, dates).
 */
import { z } from 'zod';
import type { CalendarSpec } from './calendar.js';
import type { ScheduleSpec } from './schedule.js';
import { AFTER_OUTCOMES } from './after-spec.js';

const dayName = z.enum(['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT']);
const timezone = z.string().min(1).describe('IANA time zone, e.g. Europe/Paris');
const timeOfDay = z.string().regex(/^\d{1,2}:\d\d(:\d\d)?$/, 'write HH:mm or HH:mm:ss');

const dst = z
  .object({
    gap: z
      .enum(['shift-forward', 'skip'])
      .optional()
      .describe('a local time that does not exist (spring gap)'),
    overlap: z
      .enum(['once', 'twice'])
      .optional()
      .describe('a local time that happens twice (autumn overlap)'),
  })
  .strict();

const wallClock = {
  timezone,
  calendar: z.string().min(1).optional(),
  onExcludedDay: z
    .enum(['skip', 'next-business-day', 'previous-business-day', 'modified-following'])
    .optional(),
  dst: dst.optional(),
  weekend: z.array(dayName).optional(),
};

export const cronSpecSchema = z
  .object({ kind: z.literal('cron'), expression: z.string().min(1), ...wallClock })
  .strict();
export const quartzSpecSchema = z
  .object({ kind: z.literal('quartz'), expression: z.string().min(1), ...wallClock })
  .strict();

export const scheduleSpecSchema = z.discriminatedUnion('kind', [
  cronSpecSchema,
  quartzSpecSchema,
  z
    .object({
      kind: z.literal('interval'),
      everyMs: z.number().int().min(1),
      anchor: z.string().optional(),
      calendar: z.string().min(1).optional(),
    })
    .strict(),
  z.object({ kind: z.literal('once'), at: z.string() }).strict(),
  z
    .object({
      kind: z.literal('after'),
      job: z.string().min(1).optional(),
      on: z.array(z.enum(AFTER_OUTCOMES)).optional(),
      all: z.array(z.string().min(1)).optional(),
      withinMs: z.number().int().min(1).optional(),
    })
    .strict(),
  z
    .object({
      kind: z.literal('calendar-interval'),
      every: z.number().int().min(1),
      unit: z.enum(['day', 'week', 'month', 'year']),
      start: z.string().describe('local date-time without offset, e.g. 2030-01-31T09:00'),
      ...wallClock,
    })
    .strict(),
  z
    .object({
      kind: z.literal('daily-interval'),
      everyMs: z.number().int().min(1000),
      from: timeOfDay,
      to: timeOfDay,
      days: z.array(dayName).optional(),
      ...wallClock,
    })
    .strict(),
  z
    .object({
      kind: z.literal('business-day'),
      day: z
        .number()
        .int()
        .min(-23)
        .max(23)
        .refine((d) => d !== 0, 'day 0 does not exist; 1 is the first, -1 the last'),
      time: timeOfDay,
      timezone,
      calendar: z.string().min(1).optional(),
      weekend: z.array(dayName).optional(),
      months: z.array(z.number().int().min(1).max(12)).optional(),
      dst: dst.optional(),
    })
    .strict(),
]);

const namedDate = z.union([z.string(), z.object({ date: z.string(), name: z.string().optional() }).strict()]);
const calendarBase = {
  timezone: timezone.optional(),
  base: z.string().min(1).optional(),
  description: z.string().optional(),
};

export const calendarSpecSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('holiday'), dates: z.array(namedDate), ...calendarBase }).strict(),
  z.object({ kind: z.literal('annual'), days: z.array(namedDate), ...calendarBase }).strict(),
  z.object({ kind: z.literal('weekly'), excludedDays: z.array(dayName), ...calendarBase }).strict(),
  z
    .object({
      kind: z.literal('monthly'),
      excludedDays: z.array(z.number().int().min(1).max(31)),
      ...calendarBase,
    })
    .strict(),
  z
    .object({
      kind: z.literal('daily'),
      from: timeOfDay,
      to: timeOfDay,
      invert: z.boolean().optional(),
      ...calendarBase,
    })
    .strict(),
  z
    .object({
      kind: z.literal('cron'),
      expression: z.string().min(1),
      dialect: z.enum(['quartz', 'cron']).optional(),
      ...calendarBase,
    })
    .strict(),
]);

// The schemas and the hand-written types must describe the same JSON.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const sameSchedule: Same<z.infer<typeof scheduleSpecSchema>, ScheduleSpec> = true;
const sameCalendar: Same<z.infer<typeof calendarSpecSchema>, CalendarSpec> = true;
void sameSchedule;
void sameCalendar;
