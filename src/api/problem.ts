/**
 * Errors of the admin API as RFC 9457 problem details (`application/problem+json`).
 *
 * Problem types are stable URNs (never reused for another meaning); `title` is constant per type and
 * `detail` says what was wrong with this request. `code` is the Belfry error code (errors/error-codes.ts,
 * docs/errors.md), finer than the type: a client matches on it. The registry gives each API code its
 * status, so any BelfryError with a status becomes its problem here, and no route maps errors by hand.
 * A request answered with a problem changed nothing: every input is checked before the first write.
 */
import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import type { Logger } from 'pino';
import { z } from 'zod';
import { BelfryError } from '../errors/belfry-error.js';
import { httpStatusOf, type ErrorCode } from '../errors/error-codes.js';
import { sqlState } from '../store/errors.js';
import { FilterFieldError } from './history-filter.js';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

export const PROBLEM_TYPES = {
  invalidRequest: { type: 'urn:belfry:problem:invalid-request', title: 'Invalid request' },
  notFound: { type: 'urn:belfry:problem:not-found', title: 'Not found' },
  conflict: { type: 'urn:belfry:problem:conflict', title: 'Conflict' },
  internal: { type: 'urn:belfry:problem:internal', title: 'Internal error' },
} as const;

export const problemSchema = z
  .object({
    type: z.string().describe('a URN naming the kind of problem, or about:blank'),
    title: z.string().describe('short, constant per type'),
    status: z.number().int(),
    detail: z.string().describe('what was wrong with this request'),
    code: z
      .string()
      .optional()
      .describe('the Belfry error code (BELFRY_ERR_*, listed in docs/errors.md); match on it, not on detail'),
    errors: z
      .array(z.object({ location: z.string(), path: z.string(), message: z.string() }))
      .optional()
      .describe('for invalid requests: each bad input'),
  })
  .meta({ id: 'Problem', description: 'RFC 9457 problem details' });

export type Problem = z.infer<typeof problemSchema>;
export type ProblemInputError = NonNullable<Problem['errors']>[number];

type ProblemType = (typeof PROBLEM_TYPES)[keyof typeof PROBLEM_TYPES];

/** The problem type of a status: the four types are coarse on purpose, `code` says more. */
function problemTypeOf(status: number): ProblemType {
  if (status === 404) return PROBLEM_TYPES.notFound;
  if (status === 409) return PROBLEM_TYPES.conflict;
  return status >= 400 && status < 500 ? PROBLEM_TYPES.invalidRequest : PROBLEM_TYPES.internal;
}

/** A problem response as an error: its status comes from the code's entry in the registry. */
export class ApiProblem extends BelfryError {
  readonly status: number;
  readonly kind: ProblemType;

  constructor(
    code: ErrorCode,
    detail: string,
    readonly errors?: ProblemInputError[],
  ) {
    super(code, detail);
    this.status = httpStatusOf(code) ?? 500;
    this.kind = problemTypeOf(this.status);
  }

  toJSON(): Problem {
    return {
      ...this.kind,
      status: this.status,
      detail: this.message,
      code: this.code,
      ...(this.errors ? { errors: this.errors } : {}),
    };
  }
}

export function invalidRequest(detail: string, errors?: ProblemInputError[]): ApiProblem {
  return new ApiProblem('BELFRY_ERR_INVALID_REQUEST', detail, errors);
}

/** A Belfry error as its problem (keeping its code); `errors` names the inputs at fault. */
export function problemFrom(error: BelfryError, errors?: ProblemInputError[]): ApiProblem {
  return error instanceof ApiProblem ? error : new ApiProblem(error.code, error.message, errors);
}

/** Resolves a query's filter; a wrong field becomes a 400 problem naming that query parameter. */
export function filterOrProblem<Filter>(resolve: () => Filter): Filter {
  try {
    return resolve();
  } catch (error) {
    if (error instanceof FilterFieldError)
      throw problemFrom(error, [{ location: 'query', path: error.field, message: error.message }]);
    throw error;
  }
}

/** The status an error is answered with: its code's, a foreign-key race's 409, the framework's, or 500. */
export function problemStatusOf(error: unknown): number {
  const status = error instanceof BelfryError ? httpStatusOf(error.code) : undefined;
  if (status !== undefined) return status;
  if (sqlState(error) === '23503') return 409;
  const framework = (error as { statusCode?: unknown } | null)?.statusCode;
  return typeof framework === 'number' && framework >= 400 && framework < 500 ? framework : 500;
}

/** A zod failure on one part of the request (path, query or body) as a 400. */
export function problemFromZod(error: z.ZodError, location: 'path' | 'query' | 'body'): ApiProblem {
  const errors = error.issues.map((issue) => ({
    location,
    path:
      issue.path.map(String).join('.') || (issue.code === 'unrecognized_keys' ? issue.keys.join(', ') : ''),
    message: issue.message,
  }));
  const first = errors[0]!;
  const where = first.path ? `${location} ${first.path}` : location;
  return invalidRequest(
    `invalid ${where}: ${first.message}${errors.length > 1 ? ` (and ${errors.length - 1} more)` : ''}`,
    errors,
  );
}

export function sendProblem(reply: FastifyReply, problem: Problem): FastifyReply {
  return reply.code(problem.status).type(PROBLEM_CONTENT_TYPE).send(problem);
}

/**
 * Problem details for everything in the API's scope: our own problems, the framework's 4xx (malformed
 * JSON, a wrong content type, a body too large), foreign-key races (a job deleted between the check
 * and the write), unknown routes, and a generic 500 that never leaks internals.
 */
export function installProblemHandlers(app: FastifyInstance, logger: Logger): void {
  app.setErrorHandler((error: FastifyError | BelfryError, request, reply) => {
    if (error instanceof BelfryError && httpStatusOf(error.code) !== undefined) {
      return sendProblem(reply, problemFrom(error).toJSON());
    }
    const status = problemStatusOf(error);
    if (status === 409) {
      const detail = 'a referenced job or trigger was changed concurrently; retry';
      return sendProblem(reply, new ApiProblem('BELFRY_ERR_CONFLICT', detail).toJSON());
    }
    if (status < 500) {
      // The framework's own 4xx (malformed JSON, 413, 415): its status, our type and code.
      return sendProblem(reply, {
        ...PROBLEM_TYPES.invalidRequest,
        status,
        detail: error.message,
        code: 'BELFRY_ERR_INVALID_REQUEST' satisfies ErrorCode,
      });
    }
    logger.error({ err: error, method: request.method, url: request.url }, 'admin API request failed');
    return sendProblem(
      reply,
      new ApiProblem('BELFRY_ERR_INTERNAL', 'the request failed; see the replica log').toJSON(),
    );
  });
  app.setNotFoundHandler((request, reply) =>
    sendProblem(reply, {
      type: 'about:blank',
      title: 'Not Found',
      status: 404,
      detail: `no route ${request.method} ${request.url.split('?')[0]}`,
      code: 'BELFRY_ERR_NOT_FOUND' satisfies ErrorCode,
    }),
  );
}
