/**
 * The built-in `http` job: one request with the global fetch. Succeeds on a 2xx answer; the result
 * (kept in the history) is `{ status, durationMs }`. Any other status fails the execution with the
 * status and the first 500 characters of the body, so retries and the history see why.
 *
 * Options are bound when the class is created (from YAML), never taken from fire data: a `fireNow` with
 * crafted data cannot redirect the request. Secrets (URL, header values) are resolved per execution.
 */
import type { Clock } from '../../time/clock.js';
import { systemClock } from '../../time/clock.js';
import type { JobClass, JobContext } from '../job.js';
import {
  describeSecretValue,
  resolveSecretMap,
  resolveSecretValue,
  type SecretSources,
  type SecretValue,
} from './secret-value.js';

export const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

/** Without a configured timeout a request still gives up after this long. */
export const DEFAULT_HTTP_TIMEOUT_MS = 30_000;
const BODY_EXCERPT_CHARS = 500;

export interface HttpJobOptions {
  url: SecretValue;
  method?: HttpMethod;
  headers?: Record<string, SecretValue>;
  /** A string is sent as is; anything else as JSON (with `content-type: application/json` unless set). */
  body?: unknown;
  timeoutMs?: number;
}

export interface HttpJobResult {
  status: number;
  durationMs: number;
}

export interface BuiltinJobDeps {
  secrets: SecretSources;
  clock?: Clock;
  /** Default: the global fetch. */
  fetch?: typeof fetch;
}

export class HttpJobError extends Error {
  readonly code = 'BELFRY_HTTP_JOB_FAILED';
  constructor(
    message: string,
    readonly status: number | null,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'HttpJobError';
  }
}

export function createHttpJobClass(
  options: HttpJobOptions,
  deps: BuiltinJobDeps,
): JobClass<Record<string, unknown>> {
  const clock = deps.clock ?? systemClock;
  const method = options.method ?? 'GET';
  const timeoutMs = options.timeoutMs ?? DEFAULT_HTTP_TIMEOUT_MS;
  // The URL is shown in errors only when it is not a secret reference.
  const shownUrl = typeof options.url === 'string' ? options.url : describeSecretValue(options.url);

  return class HttpJob {
    static readonly builtin = 'http';

    async execute(ctx: JobContext): Promise<HttpJobResult> {
      const url = await resolveSecretValue(options.url, deps.secrets);
      const headers = await resolveSecretMap(options.headers, deps.secrets);
      let body: string | undefined;
      if (options.body !== undefined && options.body !== null) {
        if (typeof options.body === 'string') {
          body = options.body;
        } else {
          body = JSON.stringify(options.body);
          if (!Object.keys(headers).some((name) => name.toLowerCase() === 'content-type'))
            headers['content-type'] = 'application/json';
        }
      }
      const timeout = AbortSignal.timeout(timeoutMs);
      const signal = AbortSignal.any([ctx.signal, timeout]);
      const started = clock.monotonicMs();
      let response: Response;
      try {
        response = await (deps.fetch ?? fetch)(url, { method, headers, body, signal, redirect: 'follow' });
      } catch (error) {
        if (timeout.aborted)
          throw new HttpJobError(`${method} ${shownUrl}: no answer within ${timeoutMs} ms`, null, {
            cause: error,
          });
        if (ctx.signal.aborted) throw ctx.signal.reason ?? error;
        throw new HttpJobError(
          `${method} ${shownUrl}: request failed: ${(error as Error).message}${causeText(error)}`,
          null,
          { cause: error },
        );
      }
      let text = '';
      try {
        text = await response.text();
      } catch (error) {
        if (ctx.signal.aborted) throw ctx.signal.reason ?? error;
        if (timeout.aborted)
          throw new HttpJobError(
            `${method} ${shownUrl}: body not received within ${timeoutMs} ms`,
            response.status,
          );
      }
      const durationMs = Math.round(clock.monotonicMs() - started);
      if (response.status < 200 || response.status > 299) {
        const excerpt = text.slice(0, BODY_EXCERPT_CHARS);
        throw new HttpJobError(
          `${method} ${shownUrl} answered ${response.status}${excerpt ? `: ${excerpt}` : ''}`,
          response.status,
        );
      }
      ctx.logger.debug({ status: response.status, durationMs }, 'http job answered');
      return { status: response.status, durationMs };
    }
  };
}

function causeText(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  if (!cause) return '';
  return ` (${cause.code ?? cause.message ?? String(cause)})`;
}
