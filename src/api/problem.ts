/**
 * Errors of the admin API as RFC 9457 problem details (`application/problem+json`).
 *
 * Problem types are stable URNs (never reused for another meaning); `title` is constant per type and
 * `detail` says what was wrong with this request. A request answered with a problem changed nothing:
 * every input is checked before the first write.
 */
import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import type { Logger } from 'pino';
import { z } from 'zod';
import { sqlState } from '../store/errors.js';

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
    errors: z
      .array(z.object({ location: z.string(), path: z.string(), message: z.string() }))
      .optional()
      .describe('for invalid requests: each bad input'),
  })
  .meta({ id: 'Problem', description: 'RFC 9457 problem details' });

export type Problem = z.infer<typeof problemSchema>;
export type ProblemInputError = NonNullable<Problem['errors']>[number];

export class ApiProblem extends Error {
  constructor(
    readonly status: number,
    readonly kind: (typeof PROBLEM_TYPES)[keyof typeof PROBLEM_TYPES],
    detail: string,
    readonly errors?: ProblemInputError[],
  ) {
    super(detail);
  }

  toJSON(): Problem {
    return {
      ...this.kind,
      status: this.status,
      detail: this.message,
      ...(this.errors ? { errors: this.errors } : {}),
    };
  }
}

export function invalidRequest(detail: string, errors?: ProblemInputError[]): ApiProblem {
  return new ApiProblem(400, PROBLEM_TYPES.invalidRequest, detail, errors);
}

export function notFound(detail: string): ApiProblem {
  return new ApiProblem(404, PROBLEM_TYPES.notFound, detail);
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
  app.setErrorHandler((error: FastifyError | ApiProblem, request, reply) => {
    if (error instanceof ApiProblem) return sendProblem(reply, error.toJSON());
    const status = (error as FastifyError).statusCode;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      return sendProblem(reply, { ...PROBLEM_TYPES.invalidRequest, status, detail: error.message });
    }
    if (sqlState(error) === '23503') {
      return sendProblem(reply, {
        ...PROBLEM_TYPES.conflict,
        status: 409,
        detail: 'a referenced job or trigger was changed concurrently; retry',
      });
    }
    logger.error({ err: error, method: request.method, url: request.url }, 'admin API request failed');
    return sendProblem(reply, {
      ...PROBLEM_TYPES.internal,
      status: 500,
      detail: 'the request failed; see the replica log',
    });
  });
  app.setNotFoundHandler((request, reply) =>
    sendProblem(reply, {
      type: 'about:blank',
      title: 'Not Found',
      status: 404,
      detail: `no route ${request.method} ${request.url.split('?')[0]}`,
    }),
  );
}
