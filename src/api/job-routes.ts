/** Jobs: list, pause, resume, fire now (or at an instant) with data, delete. */
import { z } from 'zod';
import { listJobs, type StoredJob } from '../store/definition-store.js';
import { removeJob } from '../operations/delete-operations.js';
import { FireRequestError, fireJob, fireRequestSchema, parseFireAt } from '../operations/fire-operations.js';
import { ApiProblem } from './problem.js';
import { pauseResumeRoutes } from './pause-routes.js';
import { namedRoute } from './named-route.js';
import { route, type ApiRoute } from './route.js';
import { instant, iso } from './wire.js';

export const jobSchema = z
  .object({
    name: z.string(),
    description: z.string().nullable(),
    module: z.string().nullable(),
    exportName: z.string().nullable(),
    concurrency: z.enum(['allow', 'forbid']),
    timeoutMs: z.number().int().nullable(),
    maxAttempts: z.number().int(),
    backoff: z.object({ initialMs: z.number(), maxMs: z.number(), factor: z.number() }).partial(),
    recover: z.boolean(),
    paused: z.boolean(),
    source: z.string(),
  })
  .meta({ id: 'Job' });

export const fireResultSchema = z
  .object({
    trigger: z.string().describe('the one-off trigger created for this run'),
    job: z.string(),
    at: instant('when it fires (database time)'),
  })
  .meta({ id: 'FireResult' });

function toJob(job: StoredJob): z.input<typeof jobSchema> {
  // A job's data is left out: it is configuration that may carry credentials.
  const { data: _data, ...rest } = job;
  return rest;
}

export const jobRoutes: ApiRoute[] = [
  route({
    method: 'GET',
    path: '/jobs',
    operationId: 'listJobs',
    tag: 'jobs',
    summary: 'Jobs',
    status: 200,
    response: z.array(jobSchema),
    responseDescription: 'jobs by name',
    problems: [],
    async handle(_input, { executor }) {
      return (await listJobs(executor)).map(toJob);
    },
  }),
  ...pauseResumeRoutes('job', {
    collection: 'jobs',
    tag: 'jobs',
    summary: { pause: 'Pause a job and all its triggers', resume: 'Resume a job and all its triggers' },
  }),
  namedRoute({
    method: 'POST',
    path: '/jobs/:name/fire',
    operationId: 'fireJob',
    tag: 'jobs',
    summary: 'Fire a job once, now or at an instant, with data',
    description:
      'Creates a one-off trigger in the group `one-off`, exactly like `scheduleAt` and `belfry fire`.',
    body: fireRequestSchema,
    status: 202,
    response: fireResultSchema,
    responseDescription: 'the one-off trigger was created',
    problems: [400],
    async handle({ params, body }, { executor }) {
      let at: Date | null;
      try {
        at = parseFireAt(body.at);
      } catch (error) {
        if (error instanceof FireRequestError)
          throw new ApiProblem(error.code, `invalid body ${error.field}: ${error.message}`, [
            { location: 'body', path: error.field, message: error.message },
          ]);
        throw error;
      }
      const fired = await fireJob(executor, { job: params.name, at, data: body.data ?? null });
      // Read back in the same transaction: the stored fire time (the database's now when no `at`).
      return { trigger: fired.trigger.name, job: fired.trigger.job, at: iso(fired.at) };
    },
  }),
  namedRoute({
    method: 'DELETE',
    path: '/jobs/:name',
    operationId: 'deleteJob',
    tag: 'jobs',
    summary: 'Delete a job and its triggers (history is kept)',
    status: 200,
    response: z.object({ job: z.string(), deleted: z.literal(true), triggersDeleted: z.number().int() }),
    responseDescription: 'deleted',
    async handle({ params }, { executor }) {
      const { triggers } = await removeJob(executor, params.name);
      return { job: params.name, deleted: true as const, triggersDeleted: triggers };
    },
  }),
];
