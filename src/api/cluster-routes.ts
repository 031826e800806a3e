/** The cluster: its instances, leader and epoch; standby (pause or resume every trigger). */
import { z } from 'zod';
import { listInstances } from '../store/instance-store.js';
import { currentLeader } from '../store/leader-store.js';
import { setPaused } from '../operations/pause-operations.js';
import { route, type ApiRoute } from './route.js';
import { instant, iso, pauseResultSchema } from './wire.js';

export const clusterSchema = z
  .object({
    leader: z.object({
      holder: z.string().nullable().describe('instance id of the lease holder'),
      holderName: z.string().nullable(),
      epoch: z.number().int().describe('grows at every change of leader'),
      acquiredAt: instant('when the current holder took the lease').nullable(),
      expiresAt: instant('when the lease lapses unless renewed').nullable(),
      valid: z.boolean().describe('false when no replica holds an unexpired lease'),
    }),
    instances: z.array(
      z.object({
        id: z.string(),
        name: z.string(),
        host: z.string(),
        pid: z.number().int(),
        version: z.string(),
        state: z.enum(['active', 'stopped', 'dead']),
        startedAt: instant('registration time'),
        lastCheckinAt: instant('last heartbeat (database time)'),
        checkinAgeMs: z.number().int().describe('how long ago, by the database clock'),
        isLeader: z.boolean(),
        deadReason: z.string().nullable(),
      }),
    ),
  })
  .meta({ id: 'Cluster' });

const clusterQuery = z
  .object({ all: z.enum(['true', 'false']).describe('include stopped and dead instances; default false') })
  .partial()
  .strict();

export const clusterRoutes: ApiRoute[] = [
  route({
    method: 'GET',
    path: '/cluster',
    operationId: 'getCluster',
    tag: 'cluster',
    summary: 'Instances with their check-in age, the leader and its epoch',
    query: clusterQuery,
    status: 200,
    response: clusterSchema,
    responseDescription: 'the cluster',
    problems: [400],
    async handle({ query }, { executor }) {
      const [instances, leader] = await Promise.all([
        listInstances(executor, { includeGone: query.all === 'true' }),
        currentLeader(executor),
      ]);
      return {
        leader: { ...leader, acquiredAt: iso(leader.acquiredAt), expiresAt: iso(leader.expiresAt) },
        instances: instances.map((i) => ({
          ...i,
          state: i.state as 'active' | 'stopped' | 'dead',
          startedAt: iso(i.startedAt),
          lastCheckinAt: iso(i.lastCheckinAt),
        })),
      };
    },
  }),
  ...(['pause', 'resume'] as const).map((action) =>
    route({
      method: 'POST',
      path: `/cluster/${action}`,
      operationId: `${action}Cluster`,
      tag: 'cluster',
      summary: action === 'pause' ? 'Standby: pause every trigger' : 'Resume every trigger',
      status: 200,
      response: pauseResultSchema,
      responseDescription: 'what changed',
      problems: [],
      async handle(_input, { executor }) {
        const target = { all: true as const };
        const changed = await setPaused(executor, { target, paused: action === 'pause' });
        return { target, paused: action === 'pause', changed };
      },
    }),
  ),
];
