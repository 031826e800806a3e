/**
 * The admin HTTP server on each replica: health, readiness, metrics, and the admin REST API.
 *
 * Access (api/admin-guard.ts): `/healthz` and `/readyz` are always open (probes cannot carry tokens)
 * and rate-limited per client address; everything else needs a token whenever one is configured, and
 * one must be configured whenever the server listens beyond loopback. The admin token
 * (BELFRY_HTTP_TOKEN) may change things, the read-only token (BELFRY_HTTP_READ_TOKEN) only read. Host
 * and Origin are checked against the server's own names; changes must be sent as application/json.
 *
 * `/readyz` answers from a cached probe on its own connection (api/readiness-probe.ts), so hammering it
 * costs at most one small query per second and never touches the pool that check-ins use.
 */
import { hostname } from 'node:os';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { AccessTokens, tokensFromSettings } from '../api/access-tokens.js';
import { installAdminGuard } from '../api/admin-guard.js';
import { DEFAULT_RATE_LIMIT, RateLimiter, type RateLimit } from '../api/rate-limiter.js';
import { ReadinessProbe } from '../api/readiness-probe.js';
import { hostPolicy, isLoopbackAddress } from '../api/request-origin.js';
import type { Scheduler } from '../scheduler.js';
import { systemClock, type Clock } from '../time/clock.js';

export interface AdminServer {
  readonly url: string;
  readonly app: FastifyInstance;
  close(): Promise<void>;
}

export interface AdminServerOptions {
  scheduler: Scheduler;
  host: string;
  port: number;
  /** The admin token (BELFRY_HTTP_TOKEN). */
  token?: string;
  /** The read-only token (BELFRY_HTTP_READ_TOKEN). */
  readToken?: string;
  /** Further names the server may be addressed by (BELFRY_HTTP_ALLOWED_HOSTS). */
  allowedHosts?: readonly string[];
  /** For requests without a token; default 100/s with bursts of 200 per address; false: none. */
  rateLimit?: RateLimit | false;
  logger: Logger;
  clock?: Clock;
  /** Extra routes (the REST API, /metrics) registered by their owners. */
  plugins?: ((app: FastifyInstance) => Promise<void> | void)[];
}

/** Names are at most 200 characters; a one-off trigger adds `.once.` and a UUID. Room to spare. */
const MAX_PARAM_LENGTH = 1_024;

export function isLoopback(host: string): boolean {
  return isLoopbackAddress(host);
}

/** The rate limit from BELFRY_HTTP_RATE_LIMIT (requests per second; 0 turns it off). */
export function rateLimitSetting(perSecond: number): RateLimit | false {
  return perSecond === 0 ? false : { perSecond, burst: perSecond * 2 };
}

export async function buildAdminApp(options: Omit<AdminServerOptions, 'port'>): Promise<FastifyInstance> {
  const { scheduler, host } = options;
  const clock = options.clock ?? systemClock;
  const tokens = new AccessTokens(tokensFromSettings({ admin: options.token, read: options.readToken }));
  if (!isLoopback(host) && !tokens.configured) {
    throw new Error(`the admin server listens on ${host}, beyond loopback: set BELFRY_HTTP_TOKEN`);
  }
  const app = Fastify({
    logger: false,
    // Slow clients (a slowloris) cannot hold connections open: the whole request within 10 s, and an
    // idle connection closed after 60 s.
    requestTimeout: 10_000,
    connectionTimeout: 60_000,
    // Under routerOptions: fastify 5 warns of (and fastify 6 ignores) the top-level maxParamLength.
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
  });
  acceptEmptyJsonBodies(app);
  const rateLimit = options.rateLimit ?? DEFAULT_RATE_LIMIT;
  installAdminGuard(app, {
    tokens,
    hosts: hostPolicy(host, options.allowedHosts ?? [], hostname()),
    limiter: rateLimit ? new RateLimiter(rateLimit, () => clock.monotonicMs()) : undefined,
    logger: options.logger.child({ service: 'admin-server' }),
  });
  const probe = new ReadinessProbe({ scheduler, clock });
  app.addHook('onClose', () => probe.close());
  app.get('/healthz', async () => ({ status: 'ok', instanceId: scheduler.instanceId }));
  app.get('/readyz', async (_request, reply) => {
    const health = await probe.check();
    return reply.code(health.ready ? 200 : 503).send(health);
  });
  for (const plugin of options.plugins ?? []) await plugin(app);
  return app;
}

/**
 * State changes must carry `content-type: application/json` (the guard's CSRF defence), including those
 * without a body: `POST /api/v1/cluster/pause` with that header and nothing else is a valid request.
 */
function acceptEmptyJsonBodies(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (body === '') return done(null, undefined);
    return parseJson(request, body as string, done);
  });
}

export async function startAdminServer(options: AdminServerOptions): Promise<AdminServer> {
  const app = await buildAdminApp(options);
  const address = await app.listen({ host: options.host, port: options.port });
  options.logger.info({ url: address }, 'admin server listening');
  return { url: address, app, close: () => app.close() };
}
