/** Triggers and groups: list, show with recent executions, pause, resume, delete. */
import { z } from 'zod';
import { listTriggers, TRIGGER_PAGE, type StoredTrigger } from '../store/definition-store.js';
import { queryHistory } from '../store/history-store.js';
import { removeTrigger } from '../operations/delete-operations.js';
import { requireTrigger } from '../operations/name-checks.js';
import { historyRowSchema, toHistoryRow } from './history-routes.js';
import { pauseResumeRoutes } from './pause-routes.js';
import { namedRoute } from './named-route.js';
import { route, type ApiRoute } from './route.js';
import { instant, iso } from './wire.js';

export const triggerSummarySchema = z
  .object({
    name: z.string(),
    job: z.string(),
    group: z.string(),
    kind: z.string().describe('cron, quartz, interval, once, calendar-interval, …'),
    nextFireAt: instant('the next scheduled fire; null when complete').nullable(),
    previousFireAt: instant('the last scheduled fire that was recorded').nullable(),
    paused: z.boolean(),
    state: z.enum(['waiting', 'paused', 'complete']),
    pausedReason: z
      .string()
      .nullable()
      .describe(
        'why the engine paused the trigger (its schedule failed, e.g. a deleted calendar); null for an operator pause. Fixing the cause resumes it',
      ),
    priority: z.number().int(),
    timesFired: z.number().int(),
    calendar: z.string().nullable(),
    source: z.string().describe('yaml, code, api or test: who defined it'),
  })
  .meta({ id: 'TriggerSummary' });

export const triggerDetailSchema = triggerSummarySchema
  .extend({
    spec: z.unknown().describe('the schedule as stored'),
    dataKeys: z
      .array(z.string())
      .describe("the keys of the trigger's data; values are left out, as they may carry credentials"),
    startAt: instant('no fire before').nullable(),
    endAt: instant('no fire after').nullable(),
    maxFires: z.number().int().nullable(),
    misfirePolicy: z.enum(['fire-once-now', 'fire-all', 'skip']),
    misfireThresholdMs: z.number().int(),
    recentExecutions: z.array(historyRowSchema).describe('newest first'),
  })
  .meta({ id: 'TriggerDetail' });

export function toTriggerSummary(t: StoredTrigger): z.input<typeof triggerSummarySchema> {
  return {
    name: t.name,
    job: t.job,
    group: t.group,
    kind: t.kind,
    nextFireAt: iso(t.nextFireAt),
    previousFireAt: iso(t.previousFireAt),
    paused: t.state === 'paused',
    state: t.state,
    pausedReason: t.pausedReason,
    priority: t.priority,
    timesFired: t.timesFired,
    calendar: t.calendarName,
    source: t.source,
  };
}

const triggerListQuery = z
  .object({
    group: z.string().min(1).describe('only this group'),
    job: z.string().min(1).describe('only triggers of this job'),
    includeComplete: z
      .enum(['true', 'false'])
      .describe('also list completed triggers (fired one-offs); default false'),
    limit: z
      .string()
      .regex(/^\d+$/, 'must be a positive integer')
      .describe(
        `triggers per page (default ${TRIGGER_PAGE.default}, at most ${TRIGGER_PAGE.max}); a full page means more may follow`,
      ),
    after: z
      .string()
      .min(1)
      .describe('the next page: the triggers named after this one (the last name of the previous page)'),
  })
  .partial()
  .strict();

const detailQuery = z
  .object({
    executions: z
      .string()
      .regex(/^\d+$/, 'must be a positive integer')
      .describe('recent executions to include (default 20, at most 1000)'),
  })
  .partial()
  .strict();

export const triggerRoutes: ApiRoute[] = [
  route({
    method: 'GET',
    path: '/triggers',
    operationId: 'listTriggers',
    tag: 'triggers',
    summary: 'Triggers with their next fire times',
    query: triggerListQuery,
    status: 200,
    response: z.array(triggerSummarySchema),
    responseDescription: 'a page of triggers, by name',
    problems: [400],
    async handle({ query }, { executor }) {
      // Pages by keyset (names after `after`): a page costs the same at 1,000,000 triggers.
      const triggers = await listTriggers(executor, {
        group: query.group,
        job: query.job,
        includeComplete: query.includeComplete === 'true',
        after: query.after,
        limit: Math.min(Math.max(Number(query.limit ?? TRIGGER_PAGE.default), 1), TRIGGER_PAGE.max),
      });
      return triggers.map(toTriggerSummary);
    },
  }),
  namedRoute({
    method: 'GET',
    path: '/triggers/:name',
    operationId: 'getTrigger',
    tag: 'triggers',
    summary: 'One trigger with its recent executions',
    query: detailQuery,
    status: 200,
    response: triggerDetailSchema,
    responseDescription: 'the trigger',
    problems: [400],
    async handle({ params, query }, { executor }) {
      const trigger = await requireTrigger(executor, params.name);
      const limit = Math.min(Math.max(Number(query.executions ?? 20), 1), 1_000);
      const executions = await queryHistory(executor, { trigger: params.name, limit });
      return {
        ...toTriggerSummary(trigger),
        spec: trigger.spec,
        // Like a job's data, a trigger's data is configuration that may carry credentials.
        dataKeys: Object.keys(trigger.data ?? {}).sort(),
        startAt: iso(trigger.startAt),
        endAt: iso(trigger.endAt),
        maxFires: trigger.maxFires,
        misfirePolicy: trigger.misfirePolicy,
        misfireThresholdMs: trigger.misfireThresholdMs,
        recentExecutions: executions.map(toHistoryRow),
      };
    },
  }),
  ...pauseResumeRoutes('trigger', {
    collection: 'triggers',
    tag: 'triggers',
    summary: {
      pause: 'Pause a trigger',
      resume: 'Resume a trigger (missed fires follow its misfire policy)',
    },
  }),
  namedRoute({
    method: 'DELETE',
    path: '/triggers/:name',
    operationId: 'deleteTrigger',
    tag: 'triggers',
    summary: 'Delete a trigger (its history is kept; a trigger from YAML comes back at the next apply)',
    status: 200,
    response: z.object({ trigger: z.string(), deleted: z.literal(true) }),
    responseDescription: 'deleted',
    async handle({ params }, { executor }) {
      await removeTrigger(executor, params.name);
      return { trigger: params.name, deleted: true as const };
    },
  }),
  ...pauseResumeRoutes('group', {
    collection: 'groups',
    tag: 'groups',
    summary: { pause: 'Pause every trigger of a group', resume: 'Resume every trigger of a group' },
  }),
];
