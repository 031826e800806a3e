/**
 * The YAML definitions format: one zod schema, the single source of truth for validation, defaults
 * (documented here, applied in definition-builder.ts) and the JSON Schema that editors use
 * (`belfry schema`, belfry.schema.json).
 *
 * The schema checks shape. Meaning (cron expressions, time zones, calendars, instants, references
 * between jobs and triggers, module files) is checked by definition-builder.ts through src/time, so the
 * YAML and the engine can never disagree about what an expression means.
 */
import { z } from 'zod';
import { AFTER_OUTCOMES } from '../time/after-spec.js';
import { HTTP_METHODS } from '../jobs/builtin/http-job.js';
import { REDIRECT_POLICIES } from '../jobs/builtin/http-redirect.js';
import { looksLikeSecretName } from '../jobs/builtin/secret-value.js';
import { calendarSpecSchema } from '../time/schedule-schema.js';
import { parseDuration } from '../time/duration.js';

/** Job, trigger and calendar names (the job registry's rule). */
export const DEFINITION_NAME = /^[A-Za-z0-9_.:-]{1,200}$/;
export const MAX_INT4 = 2_147_483_647;

export const durationSchema = z
  .union([z.string(), z.number().nonnegative()])
  .superRefine((value, ctx) => {
    try {
      parseDuration(value);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message });
    }
  })
  .describe('a duration: 500ms, 30s, 5m, 1h30m, 2d, or a number of milliseconds');

const envRef = z.object({ env: z.string().min(1).describe('name of an environment variable') }).strict();
const fileRef = z
  .object({
    file: z.string().min(1).describe('path of a file (relative to the YAML file) holding the value'),
  })
  .strict();

/** A value that may be a secret: a literal, or a reference resolved when the job runs. */
export const secretValueSchema = z
  .union([z.string(), envRef, fileRef])
  .describe('a literal, { env: NAME } or { file: PATH }; values of secret-looking names must be references');

/** Name → value map whose secret-looking names (authorization, token, password…) must not be literals. */
function secretMap(what: string) {
  return z.record(z.string().min(1), secretValueSchema).superRefine((map, ctx) => {
    for (const [name, value] of Object.entries(map)) {
      if (typeof value === 'string' && looksLikeSecretName(name)) {
        ctx.addIssue({
          code: 'custom',
          path: [name],
          message: `${what} "${name}" looks like a secret: give it as { env: NAME } or { file: PATH }, never in clear text`,
        });
      }
    }
  });
}

const jsonObject = z.record(z.string(), z.unknown());

/** Query parameters that carry credentials under names looksLikeSecretName does not catch. */
const SECRET_QUERY_NAME = /^(key|sig|signature|auth|access[-_]?key|code)$/i;

/**
 * Why a literal URL must not be written as is: credentials in its userinfo or a secret-looking query
 * parameter. A literal is stored in the database, shown by `belfry apply` and in error messages; a
 * reference (`{ env }`, `{ file }`) is resolved only when the job runs.
 */
export function literalUrlSecret(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined; // not a URL at all: the builder reports that
  }
  if (parsed.username || parsed.password)
    return 'url carries credentials (user:password@); give the whole URL as { env: NAME } or { file: PATH }';
  for (const name of parsed.searchParams.keys()) {
    if (looksLikeSecretName(name) || SECRET_QUERY_NAME.test(name))
      return `url query parameter "${name}" looks like a secret; give the whole URL as { env: NAME } or { file: PATH }`;
  }
  return undefined;
}

const retriesSchema = z
  .object({
    attempts: z
      .number()
      .int()
      .min(1)
      .max(1000)
      .describe('attempts in all, the first included (1 = no retry)'),
    backoff: z
      .object({
        initial: durationSchema.optional().describe('delay before the 2nd attempt (default 1s)'),
        max: durationSchema.optional().describe('cap on the delay (default 5m)'),
        factor: z.number().min(1).max(100).optional().describe('growth per attempt (default 2)'),
      })
      .strict()
      .optional(),
  })
  .strict();

const jobCommon = {
  description: z.string().optional(),
  concurrency: z
    .enum(['allow', 'forbid'])
    .optional()
    .describe('forbid: a fire that finds a previous execution running anywhere is skipped (default allow)'),
  timeout: durationSchema.optional().describe('abort the execution and record timed_out after this long'),
  retries: retriesSchema.optional(),
  recover: z
    .boolean()
    .optional()
    .describe('re-dispatch when the replica running it dies (at-least-once); default false (abandon)'),
  data: jsonObject.optional().describe("data given to every execution (a trigger's data is merged over it)"),
};

export const moduleJobSchema = z
  .object({
    type: z.literal('module').optional(),
    module: z.string().min(1).describe('path of the module, relative to this YAML file (./jobs/report.ts)'),
    export: z.string().min(1).optional().describe('name of the exported class (default "default")'),
    ...jobCommon,
  })
  .strict();

export const httpJobSchema = z
  .object({
    type: z.literal('http'),
    url: secretValueSchema
      .superRefine((url, ctx) => {
        const reason = typeof url === 'string' ? literalUrlSecret(url) : undefined;
        if (reason) ctx.addIssue({ code: 'custom', message: reason });
      })
      .describe('http(s) URL, or a reference to one (a URL with credentials or a token must be a reference)'),
    method: z.enum(HTTP_METHODS).optional().describe('default GET'),
    headers: secretMap('header').optional(),
    body: z
      .union([z.string(), z.record(z.string(), z.unknown()), z.array(z.unknown())])
      .optional()
      .describe('a string, or JSON'),
    redirects: z
      .enum(REDIRECT_POLICIES)
      .optional()
      .describe(
        'same-origin (default): follow redirects within the origin only; any: also to other origins (secret headers stay behind); none',
      ),
    ...jobCommon,
  })
  .strict();

export const commandJobSchema = z
  .object({
    type: z.literal('command'),
    command: z.string().min(1).describe('the executable (run without a shell)'),
    args: z.array(z.union([z.string(), z.number()])).optional(),
    cwd: z.string().min(1).optional().describe('working directory, relative to this YAML file'),
    env: secretMap('environment variable').optional(),
    inheritEnv: z
      .boolean()
      .optional()
      .describe("pass this process's whole environment (default: PATH, HOME, LANG, LC_ALL, TZ, TMPDIR only)"),
    ...jobCommon,
  })
  .strict();

/** A long-running service (docs/services.md): a class with run(ctx), each shard on exactly one replica. */
export const serviceSchema = z
  .object({
    module: z.string().min(1).describe('path of the module, relative to this YAML file (./services/cdc.ts)'),
    export: z.string().min(1).optional().describe('name of the exported class (default "default")'),
    description: z.string().optional(),
    shards: z
      .number()
      .int()
      .min(1)
      .max(100_000)
      .optional()
      .describe('shards, each held separately (default 1)'),
    restart: z
      .object({
        initial: durationSchema.optional().describe('backoff after the first crash (default 1s)'),
        max: durationSchema.optional().describe('backoff cap (default 30s)'),
        maxFailures: z
          .number()
          .int()
          .min(1)
          .optional()
          .describe('release the shard after this many (default 5)'),
        window: durationSchema.optional().describe('…within this window (default 60s)'),
      })
      .strict()
      .optional(),
    stopTimeout: durationSchema
      .optional()
      .describe('time run() gets to return on a graceful stop (default 10s)'),
    placement: z
      .object({
        labels: z.record(z.string(), z.string()).describe('replica labels (BELFRY_LABELS) to match'),
      })
      .strict()
      .optional()
      .describe('default: any replica'),
    data: jsonObject.optional().describe('given to every run as ctx.data'),
  })
  .strict();

export const jobSchema = z.discriminatedUnion('type', [moduleJobSchema, httpJobSchema, commandJobSchema]);

const dayName = z.enum(['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT']);
const timeOfDay = z.string().regex(/^\d{1,2}:\d\d(:\d\d)?$/, 'write HH:mm or HH:mm:ss');

/** The keys of which a trigger has exactly one. */
export const SCHEDULE_KEYS = [
  'cron',
  'quartz',
  'every',
  'at',
  'calendarInterval',
  'dailyInterval',
  'businessDay',
  'after',
] as const;
export type ScheduleKey = (typeof SCHEDULE_KEYS)[number];

/** `after:` of a continuation trigger: one upstream job (`job`, `on`) or a fan-in (`all`, `within`). */
export const afterSchema = z
  .object({
    job: z.string().min(1).optional().describe('the upstream job whose outcome fires this trigger'),
    on: z
      .array(z.enum(AFTER_OUTCOMES))
      .min(1)
      .optional()
      .describe('the upstream outcomes that fire it: succeeded (default), failed, timed_out or any'),
    all: z
      .array(z.string().min(1))
      .min(2)
      .optional()
      .describe('fan-in: fire once all these jobs succeeded for the same schedule time'),
    within: durationSchema.optional().describe('fan-in: the last success at most this long after the first'),
  })
  .strict()
  .superRefine((after, ctx) => {
    if ((after.job === undefined) === (after.all === undefined))
      ctx.addIssue({
        code: 'custom',
        message: 'after needs exactly one of job (one upstream) or all (fan-in)',
      });
    if (after.on !== undefined && after.job === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['on'],
        message: 'on applies to after.job; a fan-in waits for success',
      });
    if (after.within !== undefined && after.all === undefined)
      ctx.addIssue({ code: 'custom', path: ['within'], message: 'within applies to a fan-in (after.all)' });
  });

export const triggerSchema = z
  .object({
    job: z.string().min(1).describe('name of the job this trigger fires'),
    description: z.string().optional(),
    cron: z
      .string()
      .min(1)
      .optional()
      .describe('Unix cron: 5 fields, or 6 with seconds first; day of week 0-7 (0 and 7 = Sunday)'),
    quartz: z
      .string()
      .min(1)
      .optional()
      .describe('Quartz cron: 6 or 7 fields; day of week 1-7 (1 = Sunday); one day field "?"'),
    every: durationSchema
      .optional()
      .describe('a fixed interval in absolute time, anchored at start (default the Unix epoch)'),
    at: z.string().optional().describe('one fire at this ISO 8601 instant (with offset)'),
    calendarInterval: z
      .object({
        every: z.number().int().min(1),
        unit: z.enum(['day', 'week', 'month', 'year']),
        start: z.string().describe('local date-time without offset, e.g. 2030-01-31T09:00'),
      })
      .strict()
      .optional()
      .describe('every N days/weeks/months/years at the local time of start (month-end aware)'),
    dailyInterval: z
      .object({
        every: durationSchema,
        from: timeOfDay,
        to: timeOfDay,
        days: z.array(dayName).optional(),
      })
      .strict()
      .optional()
      .describe('every interval between from and to (local, both included) on the given days'),
    businessDay: z
      .object({
        day: z.number().int().min(-23).max(23).describe('1 = first business day of the month, -1 = last'),
        time: timeOfDay,
        months: z.array(z.number().int().min(1).max(12)).optional(),
      })
      .strict()
      .optional()
      .describe('the Nth business day of the month at a local time (against calendar and weekend)'),
    after: afterSchema
      .optional()
      .describe("a continuation: fire on other jobs' outcomes instead of a time (docs/continuations.md)"),
    timezone: z.string().min(1).optional().describe('IANA zone for the wall-clock kinds (default UTC)'),
    calendar: z
      .string()
      .min(1)
      .optional()
      .describe('a calendar (defined under calendars, or shipped) whose excluded days are skipped'),
    onExcludedDay: z
      .enum(['skip', 'next-business-day', 'previous-business-day', 'modified-following'])
      .optional(),
    dst: z
      .object({
        gap: z.enum(['shift-forward', 'skip']).optional(),
        overlap: z.enum(['once', 'twice']).optional(),
      })
      .strict()
      .optional()
      .describe('DST policy (default gap shift-forward, overlap once)'),
    weekend: z.array(dayName).optional().describe('days that are never business days (default SAT, SUN)'),
    group: z.string().min(1).optional().describe('default "default"'),
    priority: z
      .number()
      .int()
      .min(-MAX_INT4)
      .max(MAX_INT4)
      .optional()
      .describe('higher fires first when many are due (default 0)'),
    data: jsonObject.optional(),
    start: z
      .string()
      .optional()
      .describe('ISO 8601 instant (with offset) before which the trigger does not fire'),
    end: z
      .string()
      .optional()
      .describe('ISO 8601 instant (with offset) after which the trigger does not fire'),
    count: z.number().int().min(1).optional().describe('fires in all, then the trigger completes'),
    misfire: z
      .object({
        policy: z.enum(['fire-once-now', 'fire-all', 'skip']).optional().describe('default fire-once-now'),
        threshold: durationSchema.optional().describe('a fire later than this is a misfire (default 60s)'),
      })
      .strict()
      .optional(),
    paused: z
      .boolean()
      .optional()
      .describe('true pauses, false resumes; leave it out to keep the state an operator set'),
  })
  .strict()
  .superRefine((trigger, ctx) => {
    const present = SCHEDULE_KEYS.filter((key) => trigger[key] !== undefined);
    if (present.length === 0) {
      ctx.addIssue({ code: 'custom', message: `a trigger needs one schedule: ${SCHEDULE_KEYS.join(', ')}` });
    } else if (present.length > 1) {
      ctx.addIssue({
        code: 'custom',
        path: [present[1]!],
        message: `a trigger has exactly one schedule; found ${present.join(' and ')}`,
      });
    }
  });

/** Calendars as written in YAML: the src/time calendar specs, with `type` in place of `kind`. */
const yamlCalendarOptions = (
  calendarSpecSchema.options as readonly z.ZodObject<{ kind: z.ZodLiteral<string> }>[]
).map((option) => option.omit({ kind: true }).extend({ type: option.shape.kind })) as unknown as [
  z.ZodObject<{ type: z.ZodLiteral<string> }>,
  ...z.ZodObject<{ type: z.ZodLiteral<string> }>[],
];
export const calendarSchema = z.discriminatedUnion('type', yamlCalendarOptions);

const names = <T extends z.ZodType>(item: T) => z.record(z.string().regex(DEFINITION_NAME), item);

export const definitionsFileSchema = z
  .object({
    calendars: names(calendarSchema).optional().describe('exclusion calendars by name'),
    jobs: names(jobSchema).optional().describe('jobs by name'),
    triggers: names(triggerSchema).optional().describe('triggers by name'),
    services: names(serviceSchema).optional().describe('long-running services by name'),
  })
  .strict()
  .describe('Belfry definitions: calendars, jobs and triggers');

export type JobInput = z.infer<typeof jobSchema>;
export type TriggerInput = z.infer<typeof triggerSchema>;

/** The JSON Schema for editors (yaml-language-server), generated from the zod schema. */
export function definitionsJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(definitionsFileSchema, { io: 'input', target: 'draft-7', unrepresentable: 'any' }),
    $id: 'https://belfry.dev/belfry.schema.json',
    title: 'Belfry definitions',
  };
}
