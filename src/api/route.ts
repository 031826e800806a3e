/**
 * One declaration per endpoint: its path, its zod schemas for path, query, body and response, and its
 * handler. The same declaration registers the fastify route (validating every input before the handler
 * runs) and describes the endpoint in the OpenAPI document, so the two cannot disagree.
 *
 * Every state-changing route (anything but GET) is audited (store/admin-audit-store.ts): on success the
 * change and its audit row commit in one transaction; a call that fails is recorded with its status
 * after its transaction rolled back. Either way the row names the token, the client and the target.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { insertAdminAudit, type AdminAuditRecord } from '../store/admin-audit-store.js';
import { inTransaction, type Executor } from '../store/executor.js';
import type { Clock } from '../time/clock.js';
import { principalOf } from './admin-guard.js';
import { invalidRequest, problemFromZod, problemStatusOf } from './problem.js';

export interface ApiContext {
  executor: Executor;
  clock: Clock;
  /** The replica serving the API, recorded in the audit trail. */
  instanceId?: string;
  /** Who made this request (the token's name), for operations that record who asked. */
  actor?: string;
}

type Schema = z.ZodType;
type Parsed<S> = S extends z.ZodType ? z.output<S> : undefined;

export interface RouteInput<P, Q, B> {
  params: Parsed<P>;
  query: Parsed<Q>;
  body: Parsed<B>;
}

export interface ApiRoute<
  P extends Schema | undefined = Schema | undefined,
  Q extends Schema | undefined = Schema | undefined,
  B extends Schema | undefined = Schema | undefined,
  R extends Schema = Schema,
> {
  method: 'GET' | 'POST' | 'DELETE';
  /** Relative to /api/v1, in fastify syntax (`/triggers/:name`). */
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  tag: 'cluster' | 'triggers' | 'jobs' | 'groups' | 'history' | 'meta';
  params?: P;
  query?: Q;
  /** When set, a missing body counts as `{}`. */
  body?: B;
  status: number;
  response: R;
  responseDescription: string;
  /** Error statuses this endpoint answers besides 401 and 500 (documented as problem details). */
  problems: number[];
  handle(input: RouteInput<P, Q, B>, context: ApiContext): Promise<z.input<R>>;
}

/** Declares a route with its types inferred from its schemas. */
export function route<
  P extends Schema | undefined,
  Q extends Schema | undefined,
  B extends Schema | undefined,
  R extends Schema,
>(spec: ApiRoute<P, Q, B, R>): ApiRoute {
  return spec as unknown as ApiRoute;
}

function check<S extends Schema | undefined>(
  schema: S,
  value: unknown,
  location: 'path' | 'query' | 'body',
): Parsed<S> {
  if (!schema) return undefined as Parsed<S>;
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw problemFromZod(parsed.error, location);
  return parsed.data as Parsed<S>;
}

function bodyOf(body: unknown, expected: boolean): unknown {
  if (!expected) return undefined;
  // fastify parses text/plain too; this API speaks JSON only.
  if (typeof body === 'string' && body !== '')
    throw invalidRequest('the body must be a JSON object sent as application/json');
  return body ?? {};
}

export function registerRoute(app: FastifyInstance, spec: ApiRoute, context: ApiContext): void {
  const run = async (request: FastifyRequest, executor: Executor) => {
    const input = {
      params: check(spec.params, request.params, 'path'),
      query: check(spec.query, request.query, 'query'),
      body: check(spec.body, bodyOf(request.body, spec.body !== undefined), 'body'),
    };
    // A BelfryError with an API status (an unknown name: 404) becomes its problem in problem.ts.
    const actor = principalOf(request).name;
    return { input, result: await spec.handle(input, { ...context, executor, actor }) };
  };
  app.route({
    method: spec.method,
    url: spec.path,
    handler: async (request, reply) => {
      if (spec.method === 'GET')
        return reply.code(spec.status).send((await run(request, context.executor)).result);
      const audit = (status: number): AdminAuditRecord => auditRecord(request, spec, context, status);
      let result;
      try {
        result = await inTransaction(context.executor, async (tx) => {
          const done = await run(request, tx);
          await insertAdminAudit(tx, audit(spec.status));
          return done.result;
        });
      } catch (error) {
        await insertAdminAudit(context.executor, audit(problemStatusOf(error))).catch((failure: unknown) =>
          request.log.error({ err: failure }, 'could not record an admin call in the audit trail'),
        );
        throw error;
      }
      return reply.code(spec.status).send(result);
    },
  });
}

/** Keys of a request body that carry payloads (fire data), recorded only as "[redacted]". */
const PAYLOAD_KEYS = ['data'];
/** A target bigger than this (a malformed request, say) is recorded as truncated. */
const MAX_TARGET_CHARS = 4_096;

function auditRecord(
  request: FastifyRequest,
  spec: ApiRoute,
  context: ApiContext,
  status: number,
): AdminAuditRecord {
  const principal = principalOf(request);
  const body =
    request.body && typeof request.body === 'object' ? (request.body as Record<string, unknown>) : {};
  const target = {
    ...(request.params as Record<string, unknown>),
    ...Object.fromEntries(
      Object.entries(body).map(([key, value]) => [key, PAYLOAD_KEYS.includes(key) ? '[redacted]' : value]),
    ),
  };
  const userAgent = request.headers['user-agent'];
  return {
    actor: principal.name,
    scope: principal.scope,
    method: request.method,
    operation: spec.operationId,
    path: request.url.split('?')[0]!,
    target:
      Object.keys(target).length === 0
        ? null
        : JSON.stringify(target).length > MAX_TARGET_CHARS
          ? { truncated: true }
          : target,
    status,
    remoteAddress: request.ip ?? null,
    userAgent: userAgent ? userAgent.slice(0, 200) : null,
    instanceId: context.instanceId ?? null,
  };
}
