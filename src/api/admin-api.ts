/**
 * The admin REST API under /api/v1, as a plugin for the admin server (cli/admin-server.ts), whose
 * guard (admin-guard.ts) already checked Host, Origin, token, scope and content type:
 *
 *   startAdminServer({ …, plugins: [(app) => registerAdminApi(app, { scheduler })] })
 *
 * Every input is checked with zod before anything is written; every error is a problem detail
 * (problem.ts). The routes' declarations also generate the OpenAPI document served at
 * /api/v1/openapi.json.
 */
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { Executor } from '../store/executor.js';
import { systemClock, type Clock } from '../time/clock.js';
import { auditRoutes } from './audit-routes.js';
import { clusterRoutes } from './cluster-routes.js';
import { historyRoutes } from './history-routes.js';
import { jobRoutes } from './job-routes.js';
import { API_PREFIX, buildOpenApiDocument } from './openapi.js';
import { installProblemHandlers } from './problem.js';
import { registerRoute, route, type ApiRoute } from './route.js';
import { triggerRoutes } from './trigger-routes.js';

export interface AdminApiOptions {
  /** A scheduler, or anything with its executor and logger (the API needs no running engine). */
  scheduler: { readonly executor: Executor; readonly logger: Logger; readonly instanceId?: string };
  clock?: Clock;
}

const resourceRoutes: ApiRoute[] = [
  ...clusterRoutes,
  ...triggerRoutes,
  ...jobRoutes,
  ...historyRoutes,
  ...auditRoutes,
];

let cachedDocument: Record<string, unknown> | undefined;

/** The OpenAPI 3.1 document (the same object every call). */
export function adminApiDocument(): Record<string, unknown> {
  cachedDocument ??= buildOpenApiDocument([...resourceRoutes, openApiRoute]);
  return cachedDocument;
}

const openApiRoute = route({
  method: 'GET',
  path: '/openapi.json',
  operationId: 'getOpenApiDocument',
  tag: 'meta',
  summary: 'This document',
  status: 200,
  response: z.record(z.string(), z.unknown()).describe('an OpenAPI 3.1 document'),
  responseDescription: 'the OpenAPI document',
  problems: [],
  async handle() {
    return adminApiDocument();
  },
});

export async function registerAdminApi(app: FastifyInstance, options: AdminApiOptions): Promise<void> {
  const context = {
    executor: options.scheduler.executor,
    clock: options.clock ?? systemClock,
    instanceId: options.scheduler.instanceId,
  };
  const logger = options.scheduler.logger.child({ service: 'admin-api' });
  await app.register(
    async (api) => {
      installProblemHandlers(api, logger);
      for (const spec of [...resourceRoutes, openApiRoute]) registerRoute(api, spec, context);
    },
    { prefix: API_PREFIX },
  );
}
