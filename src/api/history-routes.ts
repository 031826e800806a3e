/** `GET /api/v1/history`: the audit history, with the same filters as `belfry history`. */
import { z } from 'zod';
import { queryHistory, type HistoryRow } from '../store/history-store.js';
import { EXECUTION_STATUSES, historyQuerySchema, toHistoryFilter } from './history-filter.js';
import { filteredListRoute } from './filtered-list-route.js';
import type { ApiRoute } from './route.js';
import { instant, iso } from './wire.js';

export const historyRowSchema = z
  .object({
    executionId: z.string().describe('the attempt id (a bigint, as a string)'),
    job: z.string(),
    trigger: z.string(),
    triggerGroup: z.string(),
    scheduledAt: instant('when the schedule said to fire'),
    firedAt: instant('when a replica recorded the fire'),
    startedAt: instant('when the attempt started').nullable(),
    finishedAt: instant('when the attempt ended').nullable(),
    lagMs: z.number().nullable().describe('start (or fire) minus scheduled time, in ms'),
    durationMs: z.number().nullable(),
    instance: z.string().nullable().describe('instance name (its id when the instance row is gone)'),
    attempt: z.number().int(),
    status: z.enum(EXECUTION_STATUSES as [string, ...string[]]),
    error: z.string().nullable(),
    traceId: z.string().nullable(),
  })
  .meta({ id: 'HistoryRow', description: 'one execution attempt (a row of the job_history view)' });

export function toHistoryRow(row: HistoryRow): z.input<typeof historyRowSchema> {
  return {
    ...row,
    scheduledAt: iso(row.scheduledAt),
    firedAt: iso(row.firedAt),
    startedAt: iso(row.startedAt),
    finishedAt: iso(row.finishedAt),
  };
}

export const historyRoutes: ApiRoute[] = [
  filteredListRoute({
    path: '/history',
    operationId: 'getHistory',
    summary: 'Execution attempts, newest first',
    description: 'The same filters as `belfry history`. `since` must be before `until`.',
    query: historyQuerySchema,
    row: historyRowSchema,
    responseDescription: 'matching attempts, newest first',
    filter: (query, now) => toHistoryFilter(query, now),
    list: queryHistory,
    toWire: toHistoryRow,
  }),
];
