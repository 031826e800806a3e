/**
 * Hands-on operations over the API (docs/continuations.md): dead letters (list, retry one or in bulk,
 * discard), retry of an execution, re-run of a fire, cancel, and backfill. The same operations as the
 * library and the CLI (src/operations/); each change is audited like every state-changing route, and
 * records the caller's token name as who asked (`api:NAME`).
 */
import { z } from 'zod';
import { backfill, MAX_BACKFILL_FIRES } from '../operations/backfill-operations.js';
import {
  cancelExecution,
  discardDeadLetter,
  listDeadLetters,
  MAX_BULK_RETRY,
  rerunFire,
  retryDeadLetter,
  retryDeadLetters,
  retryExecution,
  type DeadLetter,
  type DeadLetterFilter,
  type RequestedAttempt,
} from '../operations/execution-operations.js';
import type { Clock } from '../time/clock.js';
import { EXECUTION_STATUSES, HistoryFilterError, parseTimeBound } from './history-filter.js';
import { route, type ApiContext, type ApiRoute } from './route.js';
import { instant, iso, nameParams } from './wire.js';

const idParams = z.object({ id: z.string().regex(/^\d{1,19}$/, 'a numeric id') }).strict();
const status = z.enum(EXECUTION_STATUSES as [string, ...string[]]);

const deadLetterSchema = z
  .object({
    fireId: z.string(),
    executionId: z.string().describe('its latest attempt'),
    job: z.string(),
    trigger: z.string(),
    triggerGroup: z.string(),
    origin: z.enum(['schedule', 'continuation', 'fan-in', 'backfill']),
    scheduledAt: instant('when the fire was scheduled'),
    finishedAt: instant('when its last attempt ended').nullable(),
    attempt: z.number().int(),
    status,
    error: z.string().nullable(),
    instance: z.string().nullable(),
  })
  .meta({ id: 'DeadLetter', description: 'a fire whose last attempt failed with no retry left' });

const attemptSchema = z
  .object({
    fireId: z.string(),
    executionId: z.string().describe('the new attempt (pending, due now)'),
    attempt: z.number().int(),
    job: z.string(),
    trigger: z.string(),
  })
  .meta({ id: 'RequestedAttempt' });

const filterFields = {
  job: z.string().min(1).max(300).optional(),
  trigger: z.string().min(1).max(300).optional(),
  since: z.string().optional().describe('scheduled at or after: an instant, or a duration ago (24h)'),
  until: z.string().optional().describe('scheduled before: an instant, or a duration ago'),
  error: z.string().min(1).max(500).optional().describe('the error contains this text'),
};
const deadLetterQuery = z
  .object({ ...filterFields, limit: z.coerce.number().int().min(1).max(10_000).default(100) })
  .strict();
const bulkRetryBody = z
  .object({
    ...filterFields,
    limit: z.number().int().min(1).max(MAX_BULK_RETRY).default(100),
    confirm: z
      .boolean()
      .default(false)
      .describe('false (the default): a dry run that lists what it would retry'),
  })
  .strict()
  .meta({ id: 'BulkRetryRequest' });

const backfillBody = z
  .object({
    from: instant('the window start (inclusive)'),
    to: instant('the window end (exclusive), in the past'),
    overlap: z.enum(['skip', 'allow']).default('skip'),
    rate: z.number().positive().max(10_000).default(10).describe('attempts started per second at most'),
    dryRun: z.boolean().default(false),
  })
  .strict()
  .meta({ id: 'BackfillRequest' });

function toFilter(query: z.output<typeof deadLetterQuery>, clock: Clock): DeadLetterFilter {
  const now = clock.now();
  const at = (field: 'since' | 'until') => {
    const value = query[field];
    if (value === undefined) return undefined;
    try {
      return parseTimeBound(value, field, now);
    } catch (error) {
      throw new HistoryFilterError((error as Error).message, field);
    }
  };
  return {
    job: query.job,
    trigger: query.trigger,
    since: at('since'),
    until: at('until'),
    errorContains: query.error,
    limit: query.limit,
  };
}

const toWire = (letter: DeadLetter): z.input<typeof deadLetterSchema> => ({
  ...letter,
  scheduledAt: iso(letter.scheduledAt),
  finishedAt: iso(letter.finishedAt),
});
const by = (context: ApiContext) => `api:${context.actor ?? 'anonymous'}`;

export const operationRoutes: ApiRoute[] = [
  route({
    method: 'GET',
    path: '/dead-letters',
    operationId: 'listDeadLetters',
    tag: 'history',
    summary: 'Dead letters: fires whose last attempt failed with no retry left, newest first',
    query: deadLetterQuery,
    status: 200,
    response: z.array(deadLetterSchema),
    responseDescription: 'dead letters (discarded ones left out)',
    problems: [400],
    async handle({ query }, context) {
      return (await listDeadLetters(context.executor, toFilter(query, context.clock))).map(toWire);
    },
  }),
  route({
    method: 'POST',
    path: '/dead-letters/retry',
    operationId: 'retryDeadLetters',
    tag: 'history',
    summary: 'Retry the dead letters a filter matches (a dry run unless confirm is true)',
    body: bulkRetryBody,
    status: 200,
    response: z
      .object({
        confirmed: z.boolean(),
        matched: z.array(deadLetterSchema),
        retried: z.array(attemptSchema),
      })
      .meta({ id: 'BulkRetryResult' }),
    responseDescription: 'what matched, and what was retried (nothing on a dry run)',
    problems: [400],
    async handle({ body }, context) {
      const { confirm, ...query } = body;
      const result = await retryDeadLetters(context.executor, {
        filter: toFilter(query, context.clock),
        confirm,
        requestedBy: by(context),
      });
      return { ...result, matched: result.matched.map(toWire) };
    },
  }),
  attemptRoute('/dead-letters/:id/retry', 'retryDeadLetter', 'Retry one dead letter (by fire id)', (id, c) =>
    retryDeadLetter(c.executor, { fireId: id, requestedBy: by(c) }),
  ),
  route({
    method: 'POST',
    path: '/dead-letters/:id/discard',
    operationId: 'discardDeadLetter',
    tag: 'history',
    summary: 'Discard a dead letter (by fire id): it leaves the list and stays in the history',
    params: idParams,
    status: 200,
    response: z.object({ fireId: z.string(), discarded: z.literal(true) }),
    responseDescription: 'discarded',
    problems: [404, 409],
    async handle({ params }, context) {
      return discardDeadLetter(context.executor, { fireId: params.id, requestedBy: by(context) });
    },
  }),
  attemptRoute(
    '/executions/:id/retry',
    'retryExecution',
    'Retry a fire whose latest attempt (this execution) failed: a new attempt, same idempotency key',
    (id, c) => retryExecution(c.executor, { executionId: id, requestedBy: by(c) }),
  ),
  attemptRoute(
    '/fires/:id/rerun',
    'rerunFire',
    'Re-run a fire that succeeded: a new attempt recorded as a manual re-run',
    (id, c) => rerunFire(c.executor, { fireId: id, requestedBy: by(c) }),
  ),
  route({
    method: 'POST',
    path: '/executions/:id/cancel',
    operationId: 'cancelExecution',
    tag: 'history',
    summary: 'Cancel a pending or running execution',
    description:
      'Recorded `cancelled` at once; the replica running it aborts its `ctx.signal` (NOTIFY). A running execution of a dead replica is simply marked.',
    params: idParams,
    status: 200,
    response: z
      .object({
        executionId: z.string(),
        previous: status.describe('pending or running'),
        instanceId: z.string().nullable().describe('the replica it ran on'),
      })
      .meta({ id: 'CancelResult' }),
    responseDescription: 'cancelled',
    problems: [404, 409],
    async handle({ params }, context) {
      return cancelExecution(context.executor, { executionId: params.id, requestedBy: by(context) });
    },
  }),
  route({
    method: 'POST',
    path: '/triggers/:name/backfill',
    operationId: 'backfillTrigger',
    tag: 'triggers',
    summary: 'Create the fires of a past window (idempotent, throttled, marked backfill)',
    description: `At most ${MAX_BACKFILL_FIRES} fires; a scheduled time that already has a fire is not created again.`,
    params: nameParams,
    body: backfillBody,
    status: 200,
    response: z
      .object({
        trigger: z.string(),
        dryRun: z.boolean(),
        scheduled: z.number().int().describe('scheduled times in the window'),
        created: z.array(instant('a scheduled time created (or, on a dry run, that would be)')),
        alreadyFired: z.number().int(),
      })
      .meta({ id: 'BackfillResult' }),
    responseDescription: 'what was (or would be) created',
    problems: [400, 404],
    async handle({ params, body }, context) {
      const result = await backfill(context.executor, {
        trigger: params.name,
        from: new Date(body.from),
        to: new Date(body.to),
        overlap: body.overlap,
        rate: body.rate,
        dryRun: body.dryRun,
        instanceId: context.instanceId ?? null,
      });
      return { ...result, created: result.created.map((at) => at.toISOString()) };
    },
  }),
];

function attemptRoute(
  path: string,
  operationId: string,
  summary: string,
  act: (id: string, context: ApiContext) => Promise<RequestedAttempt>,
): ApiRoute {
  return route({
    method: 'POST',
    path,
    operationId,
    tag: 'history',
    summary,
    params: idParams,
    status: 202,
    response: attemptSchema,
    responseDescription: 'the new attempt is pending',
    problems: [404, 409],
    async handle({ params }, context) {
      return act(params.id, context);
    },
  });
}
