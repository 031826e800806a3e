/**
 * The admin server's front door: one `onRequest` hook that decides, from the headers alone and before
 * any route runs, whether a request may go on. In order:
 *
 * 1. Who it is (access-tokens.ts): probes (/healthz, /readyz) are anonymous; with tokens configured
 *    every other route needs one; without tokens (loopback only) everyone is an anonymous admin.
 * 2. Anonymous requests (and failed logins) take from their address's rate-limit bucket (429), before
 *    anything is logged, so a flood costs neither work nor log lines.
 * 3. `Host` names this server and `Origin`, if any, is this server (request-origin.ts): DNS rebinding
 *    and cross-site requests from browsers stop here (403). Then a missing or wrong token is a 401.
 * 4. State changes (anything but GET, HEAD, OPTIONS) need the admin scope (403) and `application/json`
 *    (415), body or not: a cross-site form or `fetch` without CORS cannot send that content type.
 *
 * The principal is kept per request for the audit trail (principalOf).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { ANONYMOUS_NAME, bearerToken, type AccessTokens, type Principal } from './access-tokens.js';
import { isDashboardShell, sessionToken } from './dashboard-session.js';
import { PROBLEM_CONTENT_TYPE } from './problem.js';
import { httpStatusOf } from '../errors/error-codes.js';
import type { RateLimiter } from './rate-limiter.js';
import { hostAllowed, originAllowed, type HostPolicy } from './request-origin.js';

export const PROBE_PATHS = ['/healthz', '/readyz'];
const READ_METHODS = ['GET', 'HEAD', 'OPTIONS'];

export interface AdminGuardOptions {
  tokens: AccessTokens;
  hosts: HostPolicy;
  /** Undefined: no rate limit. */
  limiter?: RateLimiter;
  logger: Logger;
}

const principals = new WeakMap<FastifyRequest, Principal>();
const OPEN_ADMIN: Principal = { name: ANONYMOUS_NAME, scope: 'admin', authenticated: false };

/** Who made the request (an anonymous admin when no guard ran, as for an app built without one). */
export function principalOf(request: FastifyRequest): Principal {
  return principals.get(request) ?? OPEN_ADMIN;
}

export function installAdminGuard(app: FastifyInstance, options: AdminGuardOptions): void {
  const { tokens, hosts, limiter, logger } = options;
  app.addHook('onRequest', async (request, reply) => {
    const path = request.url.split('?')[0]!;
    const refuse = (code: RefusalCode, title: string, detail: string) => {
      logger.warn(
        { status: httpStatusOf(code), code, method: request.method, path, remoteAddress: request.ip },
        'admin request refused',
      );
      return sendRefusal(reply, code, title, detail);
    };
    let principal: Principal | undefined;
    // The dashboard's cookie stands for its token (dashboard-session.ts); every check below still applies.
    const given = bearerToken(request.headers.authorization) ?? sessionToken(request.headers.cookie);
    if (given && tokens.configured) principal = tokens.authenticate(given);
    // The dashboard's shell is public like a probe: it carries no data, and shows the login form.
    const probe = PROBE_PATHS.includes(path) || isDashboardShell(request.method, path);
    if (!principal && (probe || !tokens.configured))
      principal = { ...OPEN_ADMIN, scope: probe ? 'read' : 'admin' };

    if (limiter && !principal?.authenticated) {
      const retryAfter = limiter.take(request.ip);
      if (retryAfter > 0) {
        reply.header('retry-after', String(retryAfter));
        return sendRefusal(
          reply,
          'BELFRY_ERR_RATE_LIMITED',
          'Too Many Requests',
          'too many requests without a token; slow down',
        );
      }
    }
    if (!hostAllowed(request.headers.host, hosts))
      return refuse(
        'BELFRY_ERR_HOST_NOT_ALLOWED',
        'Forbidden',
        'the Host header does not name this server (BELFRY_HTTP_ALLOWED_HOSTS)',
      );
    if (!originAllowed(header(request, 'origin'), request.headers.host))
      return refuse('BELFRY_ERR_CROSS_ORIGIN', 'Forbidden', 'cross-origin requests are not accepted');

    if (!principal) {
      reply.header('www-authenticate', 'Bearer');
      return refuse('BELFRY_ERR_UNAUTHORIZED', 'Unauthorized', 'a valid bearer token is required');
    }
    principals.set(request, principal);
    if (READ_METHODS.includes(request.method)) return;
    if (principal.scope !== 'admin')
      return refuse(
        'BELFRY_ERR_READ_ONLY_TOKEN',
        'Forbidden',
        `token "${principal.name}" is read-only; changes need the admin token`,
      );
    if (!isJson(request.headers['content-type']))
      return refuse(
        'BELFRY_ERR_NOT_JSON',
        'Unsupported Media Type',
        'state-changing requests must be sent as application/json',
      );
  });
}

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function isJson(contentType: string | undefined): boolean {
  return (contentType ?? '').split(';')[0]!.trim().toLowerCase() === 'application/json';
}

type RefusalCode =
  | 'BELFRY_ERR_UNAUTHORIZED'
  | 'BELFRY_ERR_READ_ONLY_TOKEN'
  | 'BELFRY_ERR_HOST_NOT_ALLOWED'
  | 'BELFRY_ERR_CROSS_ORIGIN'
  | 'BELFRY_ERR_NOT_JSON'
  | 'BELFRY_ERR_RATE_LIMITED';

/** A refusal before any route runs: a plain problem (about:blank) with its status and code. */
async function sendRefusal(reply: FastifyReply, code: RefusalCode, title: string, detail: string) {
  const status = httpStatusOf(code)!;
  await reply
    .code(status)
    .type(PROBLEM_CONTENT_TYPE)
    .send({ type: 'about:blank', title, status, detail, code });
}
