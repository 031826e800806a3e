/**
 * The admin HTTP server on each replica: health, readiness, metrics, and the admin REST API.
 *
 * `/healthz` and `/readyz` are always open (probes cannot carry tokens); everything else needs the bearer
 * token whenever the server listens on anything but loopback, compared in constant time.
 */
import { timingSafeEqual, createHash } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Scheduler } from '../scheduler.js';

export interface AdminServer {
  readonly url: string;
  readonly app: FastifyInstance;
  close(): Promise<void>;
}

export interface AdminServerOptions {
  scheduler: Scheduler;
  host: string;
  port: number;
  token?: string;
  logger: Logger;
  /** Extra routes (the REST API, /metrics) registered by their owners. */
  plugins?: ((app: FastifyInstance) => Promise<void> | void)[];
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

function sameToken(given: string, expected: string): boolean {
  // Hash both so the comparison is constant-time whatever the lengths.
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

export async function buildAdminApp(options: Omit<AdminServerOptions, 'port'>): Promise<FastifyInstance> {
  const { scheduler, host, token } = options;
  if (!isLoopback(host) && !token) {
    throw new Error(`the admin server listens on ${host}, beyond loopback: set BELFRY_HTTP_TOKEN`);
  }
  const app = Fastify({ logger: false });
  app.addHook('onRequest', async (request, reply) => {
    const path = request.url.split('?')[0];
    if (path === '/healthz' || path === '/readyz' || !token) return;
    const header = request.headers.authorization ?? '';
    const given = header.startsWith('Bearer ') ? header.slice(7) : '';
    if (!given || !sameToken(given, token)) {
      await reply.code(401).header('www-authenticate', 'Bearer').type('application/problem+json').send({
        type: 'about:blank',
        title: 'Unauthorized',
        status: 401,
        detail: 'a valid bearer token is required',
      });
    }
  });
  app.get('/healthz', async () => ({ status: 'ok', instanceId: scheduler.instanceId }));
  app.get('/readyz', async (_request, reply) => {
    const health = await scheduler.health();
    return reply.code(health.ready ? 200 : 503).send(health);
  });
  for (const plugin of options.plugins ?? []) await plugin(app);
  return app;
}

export async function startAdminServer(options: AdminServerOptions): Promise<AdminServer> {
  const app = await buildAdminApp(options);
  const address = await app.listen({ host: options.host, port: options.port });
  options.logger.info({ url: address }, 'admin server listening');
  return { url: address, app, close: () => app.close() };
}
