/**
 * Read endpoints the dashboard needs beyond the resource routes: the overview (health of the last hour
 * and day, what is stuck), a page of history with a keyset cursor (never OFFSET, so page 1,000 costs
 * what page 1 costs), one execution with every attempt of its fire, and the attempts running now.
 */
import { z } from 'zod';
import { currentLeader } from '../store/leader-store.js';
import { listInstances } from '../store/instance-store.js';
import { fireAttempts, overviewStats, runningExecutions, stuckExecutions } from '../store/dashboard-store.js';
import { queryHistory, type HistoryCursor } from '../store/history-store.js';
import { historyQuerySchema, toHistoryFilter } from './history-filter.js';
import { historyRowSchema, toHistoryRow } from './history-routes.js';
import { ApiProblem, filterOrProblem, invalidRequest } from './problem.js';
import { route, type ApiRoute } from './route.js';
import { instant, iso } from './wire.js';

/** Pending past its run time this long, or running this long, counts as stuck. */
export const STUCK_PENDING_MS = 60_000;
export const STUCK_RUNNING_MS = 60 * 60_000;

const overviewSchema = z
  .object({
    at: instant('database time the figures were taken at'),
    lastHour: z.object({
      fires: z.number().int(),
      attempts: z.number().int(),
      failed: z.number().int().describe('attempts that failed, timed out or were abandoned'),
      failureRate: z.number().nullable().describe('failed / attempts; null without attempts'),
      lagP50Ms: z.number().nullable(),
      lagP99Ms: z.number().nullable(),
      perMinute: z.array(z.number().int()).describe('fires per minute, oldest first (60)'),
    }),
    lastDay: z.object({
      failed: z.number().int(),
      misfired: z.number().int(),
      succeeded: z.number().int(),
    }),
    stuck: z.array(historyRowSchema.extend({ reason: z.string() })),
    leader: z.object({ holder: z.string().nullable(), holderName: z.string().nullable(), epoch: z.number() }),
    instances: z.number().int().describe('active instances'),
  })
  .meta({ id: 'Overview' });

/** `<scheduledAt ISO>~<executionId>`: opaque to clients, which pass back what `next` said. */
export function encodeCursor(cursor: HistoryCursor): string {
  return `${cursor.scheduledAt.toISOString()}~${cursor.executionId}`;
}

export function decodeCursor(text: string): HistoryCursor {
  const match = /^(\d{4}-\d\d-\d\dT[\d:.]+Z)~(\d{1,19})$/.exec(text);
  const scheduledAt = match ? new Date(match[1]!) : undefined;
  if (!match || Number.isNaN(scheduledAt!.getTime()))
    throw invalidRequest('invalid query before: not a cursor this API returned', [
      { location: 'query', path: 'before', message: 'not a cursor' },
    ]);
  return { scheduledAt: scheduledAt!, executionId: match[2]! };
}

const historyPageQuery = historyQuerySchema.extend({
  before: z.string().min(1).max(80).optional().describe('the `next` cursor of the previous page'),
});

export const overviewRoutes: ApiRoute[] = [
  route({
    method: 'GET',
    path: '/overview',
    operationId: 'getOverview',
    tag: 'cluster',
    summary: 'Fire rate, lag, failures and misfires of the last hour and day; stuck work; the leader',
    status: 200,
    response: overviewSchema,
    responseDescription: 'the overview',
    problems: [],
    async handle(_input, { executor }) {
      const [stats, stuck, leader, instances] = await Promise.all([
        overviewStats(executor),
        stuckExecutions(executor, {
          pendingMs: STUCK_PENDING_MS,
          runningMs: STUCK_RUNNING_MS,
          limit: 20,
        }),
        currentLeader(executor),
        listInstances(executor, { includeGone: false }),
      ]);
      const { attempts, failed } = stats.lastHour;
      return {
        at: iso(stats.at),
        lastHour: { ...stats.lastHour, failureRate: attempts === 0 ? null : failed / attempts },
        lastDay: stats.lastDay,
        stuck: stuck.map((row) => ({ ...toHistoryRow(row), reason: row.reason })),
        leader: { holder: leader.holder, holderName: leader.holderName, epoch: leader.epoch },
        instances: instances.length,
      };
    },
  }),
  route({
    method: 'GET',
    path: '/history/page',
    operationId: 'getHistoryPage',
    tag: 'history',
    summary: 'One page of execution attempts, newest first, with a cursor to the next page',
    description:
      'The filters of `GET /history` (`limit` is the page size, default 50), plus `before`: the `next` cursor of the previous page. Keyset pagination: every page costs the same.',
    query: historyPageQuery,
    status: 200,
    response: z
      .object({
        rows: z.array(historyRowSchema),
        next: z.string().nullable().describe('pass as `before` for the next page; null on the last'),
      })
      .meta({ id: 'HistoryPage' }),
    responseDescription: 'a page of attempts',
    problems: [400],
    async handle({ query }, { executor, clock }) {
      const { before, ...filters } = query;
      const filter = filterOrProblem(() => toHistoryFilter({ limit: '50', ...filters }, clock.now()));
      const size = filter.limit ?? 50;
      const rows = await queryHistory(executor, {
        ...filter,
        limit: size + 1,
        before: before === undefined ? undefined : decodeCursor(before),
      });
      const page = rows.slice(0, size);
      const last = page.at(-1);
      return {
        rows: page.map(toHistoryRow),
        next: rows.length > size && last ? encodeCursor(last) : null,
      };
    },
  }),
  route({
    method: 'GET',
    path: '/executions/:id',
    operationId: 'getExecution',
    tag: 'history',
    summary: 'One execution attempt with every attempt of its fire',
    params: z.object({ id: z.string().regex(/^\d{1,19}$/, 'must be an execution id') }).strict(),
    status: 200,
    response: z
      .object({ execution: historyRowSchema, attempts: z.array(historyRowSchema).describe('first first') })
      .meta({ id: 'ExecutionDetail' }),
    responseDescription: 'the execution',
    problems: [400, 404],
    async handle({ params }, { executor }) {
      const attempts = await fireAttempts(executor, { executionId: params.id });
      const execution = attempts.find((a) => a.executionId === params.id);
      if (!execution) throw new ApiProblem('BELFRY_ERR_NOT_FOUND', `no execution ${params.id}`);
      return { execution: toHistoryRow(execution), attempts: attempts.map(toHistoryRow) };
    },
  }),
  route({
    method: 'GET',
    path: '/executions/running',
    operationId: 'listRunningExecutions',
    tag: 'cluster',
    summary: 'Attempts running now, oldest first (at most 1,000)',
    status: 200,
    response: z.array(historyRowSchema),
    responseDescription: 'running attempts',
    problems: [],
    async handle(_input, { executor }) {
      return (await runningExecutions(executor, { limit: 1_000 })).map(toHistoryRow);
    },
  }),
];
