/**
 * One declaration per endpoint: its path, its zod schemas for path, query, body and response, and its
 * handler. The same declaration registers the fastify route (validating every input before the handler
 * runs) and describes the endpoint in the OpenAPI document, so the two cannot disagree.
 */
import type { FastifyInstance } from 'fastify';
import type { z } from 'zod';
import type { Executor } from '../store/executor.js';
import type { Clock } from '../time/clock.js';
import { UnknownNameError } from './admin-operations.js';
import { invalidRequest, notFound, problemFromZod } from './problem.js';

export interface ApiContext {
  executor: Executor;
  clock: Clock;
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
  app.route({
    method: spec.method,
    url: spec.path,
    handler: async (request, reply) => {
      const input = {
        params: check(spec.params, request.params, 'path'),
        query: check(spec.query, request.query, 'query'),
        body: check(spec.body, bodyOf(request.body, spec.body !== undefined), 'body'),
      };
      try {
        return reply.code(spec.status).send(await spec.handle(input, context));
      } catch (error) {
        if (error instanceof UnknownNameError) throw notFound(error.message);
        throw error;
      }
    },
  });
}
