/**
 * Long-running services over the admin API (docs/services.md): each shard with its holder, epoch, uptime,
 * checkpoint and restarts; the service_history view; pause and resume a service on every replica.
 */
import { z } from 'zod';
import { BelfryError } from '../errors/belfry-error.js';
import { listServiceHistory, listServiceShards, setServicePaused } from '../store/service-store.js';
import { route, type ApiRoute } from './route.js';
import { instant, iso, nameParams } from './wire.js';

export const serviceShardSchema = z
  .object({
    service: z.string(),
    shard: z.number().int(),
    shards: z.number().int(),
    paused: z.boolean(),
    holder: z.string().nullable().describe('instance id holding an unexpired lease, or null'),
    holderName: z.string().nullable(),
    epoch: z.number().int().describe('grows at every change of holder; fences the checkpoint'),
    held: z.boolean(),
    acquiredAt: instant('when the current or last holder took the shard').nullable(),
    expiresAt: instant('when the lease lapses unless renewed (database time)').nullable(),
    uptimeMs: z.number().int().nullable().describe('since the current run started'),
    checkpoint: z.unknown().describe('the last checkpoint written (any JSON value), or null'),
    checkpointAt: instant('when it was written').nullable(),
    restarts: z.number().int().describe('runs restarted after a crash under the current epoch'),
  })
  .meta({ id: 'ServiceShard' });

export const serviceHistorySchema = z
  .object({
    id: z.string(),
    service: z.string(),
    shard: z.number().int(),
    instance: z.string(),
    instanceName: z.string().nullable(),
    epoch: z.number().int(),
    startedAt: instant('run start (database time)'),
    endedAt: instant('run end').nullable(),
    reason: z
      .string()
      .describe('running, stopped, crashed, returned early, lease lost, paused, rebalanced, …'),
    error: z.string().nullable(),
  })
  .meta({ id: 'ServiceHistoryRow' });

const servicePauseSchema = z
  .object({ service: z.string(), paused: z.boolean() })
  .meta({ id: 'ServicePauseResult' });

const historyQuery = z
  .object({
    service: z.string().min(1).max(200),
    limit: z.coerce.number().int().min(1).max(10_000).describe('rows, newest first; default 100'),
  })
  .partial()
  .strict();

export const serviceRoutes: ApiRoute[] = [
  route({
    method: 'GET',
    path: '/services',
    operationId: 'listServices',
    tag: 'cluster',
    summary: 'Every shard of every long-running service, with holder, epoch, uptime, checkpoint, restarts',
    status: 200,
    response: z.array(serviceShardSchema),
    responseDescription: 'the shards',
    problems: [],
    async handle(_input, { executor }) {
      const rows = await listServiceShards(executor);
      return rows.map((r) => ({
        ...r,
        acquiredAt: iso(r.acquiredAt),
        expiresAt: iso(r.expiresAt),
        checkpointAt: iso(r.checkpointAt),
      }));
    },
  }),
  route({
    method: 'GET',
    path: '/services/history',
    operationId: 'listServiceHistory',
    tag: 'cluster',
    summary: 'Starts, stops, crashes, handovers and refused checkpoints (the service_history view)',
    query: historyQuery,
    status: 200,
    response: z.array(serviceHistorySchema),
    responseDescription: 'history rows, newest first',
    problems: [400],
    async handle({ query }, { executor }) {
      const rows = await listServiceHistory(executor, { service: query.service, limit: query.limit });
      return rows.map((r) => ({ ...r, startedAt: iso(r.startedAt), endedAt: iso(r.endedAt) }));
    },
  }),
  ...(['pause', 'resume'] as const).map((action) =>
    route({
      method: 'POST',
      path: `/services/:name/${action}`,
      operationId: `${action}Service`,
      tag: 'cluster',
      summary:
        action === 'pause'
          ? 'Pause a service: its holders stop their runs and release, no replica takes it'
          : 'Resume a paused service',
      params: nameParams,
      status: 200,
      response: servicePauseSchema,
      responseDescription: 'the service and its state',
      problems: [404],
      async handle({ params }, { executor }) {
        const found = await setServicePaused(executor, { name: params.name, paused: action === 'pause' });
        if (!found) {
          throw new BelfryError(
            'BELFRY_ERR_UNKNOWN_SERVICE',
            `no service is named ${JSON.stringify(params.name)}`,
          );
        }
        return { service: params.name, paused: action === 'pause' };
      },
    }),
  ),
];
