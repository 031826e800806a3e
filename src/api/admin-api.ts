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
import type { EventFeed } from './dashboard-events.js';
import { registerDashboard, type DashboardOptions } from './dashboard-routes.js';
import { clusterRoutes } from './cluster-routes.js';
import { historyRoutes } from './history-routes.js';
import { jobRoutes } from './job-routes.js';
import { overviewRoutes } from './overview-routes.js';
import { operationRoutes } from './operation-routes.js';
import { API_PREFIX, buildOpenApiDocument } from './openapi.js';
import { installProblemHandlers } from './problem.js';
import { registerRoute, route, type ApiRoute } from './route.js';
import { scheduleRoutes } from './schedule-routes.js';
import { serviceRoutes } from './service-routes.js';
import { triggerRoutes } from './trigger-routes.js';

export interface AdminApiOptions {
  /** A scheduler, or anything with its executor and logger (the API needs no running engine). */
  scheduler: {
    readonly executor: Executor;
    readonly logger: Logger;
    readonly instanceId?: string;
    /** The event bus, for the dashboard's live stream (dashboard-events.ts). */
    readonly on?: EventFeed['on'];
  };
  clock?: Clock;
  /** The web dashboard at /ui (dashboard-routes.ts); false: not served. */
  dashboard?: Pick<DashboardOptions, 'traceUrlTemplate' | 'root' | 'version' | 'definitionFiles'> | false;
}

const resourceRoutes: ApiRoute[] = [
  ...clusterRoutes,
  ...triggerRoutes,
  ...jobRoutes,
  ...historyRoutes,
  ...auditRoutes,
  ...overviewRoutes,
  ...scheduleRoutes,
  ...serviceRoutes,
  ...operationRoutes,
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
  if (options.dashboard !== false) {
    const { scheduler } = options;
    await registerDashboard(app, {
      ...options.dashboard,
      feed: scheduler.on ? { on: scheduler.on.bind(scheduler) } : undefined,
      instanceId: () => scheduler.instanceId,
    });
  }
}
