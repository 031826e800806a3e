/**
 * The built-in `http` job: one request with the global fetch. Succeeds on a 2xx answer; the result
 * (kept in the history) is `{ status, durationMs }`. Any other status fails the execution with the
 * status and the start of the body, so retries and the history see why.
 *
 * Options are bound when the class is created (from YAML), never taken from fire data: a `fireNow` with
 * crafted data cannot redirect the request. Secrets (URL, header values) are resolved per execution and
 * replaced by `[redacted]` in every error message.
 *
 * Limits, because the far end is not trusted:
 * - at most MAX_RESPONSE_BYTES of the body are read; the rest is cancelled unread;
 * - redirects are followed by hand (http-redirect.ts): within the same origin by default, to another
 *   origin only with `redirects: any`, and headers from secret references (and Authorization and
 *   Cookie) are never sent to another origin or from https to http;
 * - `connectTimeoutMs` bounds connecting and receiving the response head, `bodyTimeoutMs` reading the
 *   body, and `timeoutMs` the whole request.
 */
import type { Clock } from '../../time/clock.js';
import { systemClock } from '../../time/clock.js';
import type { JobClass, JobContext } from '../job.js';
import { nextHop, type RedirectPolicy } from './http-redirect.js';
import {
  describeSecretValue,
  resolveSecretMap,
  resolveSecretValue,
  secretRedactor,
  type SecretSources,
  type SecretValue,
} from './secret-value.js';
import { BelfryError } from '../../errors/belfry-error.js';

export const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

/** Without a configured timeout a request still gives up after this long. */
export const DEFAULT_HTTP_TIMEOUT_MS = 30_000;
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
export const DEFAULT_BODY_TIMEOUT_MS = 10_000;
/** The most of a response body that is read (for the error excerpt); the rest is discarded unread. */
export const MAX_RESPONSE_BYTES = 4_096;
const BODY_EXCERPT_CHARS = 500;
const MAX_REDIRECTS = 5;

export interface HttpJobOptions {
  url: SecretValue;
  method?: HttpMethod;
  headers?: Record<string, SecretValue>;
  /** A string is sent as is; anything else as JSON (with `content-type: application/json` unless set). */
  body?: unknown;
  timeoutMs?: number;
  connectTimeoutMs?: number;
  bodyTimeoutMs?: number;
  /** Default `same-origin`. */
  redirects?: RedirectPolicy;
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

export class HttpJobError extends BelfryError {
  constructor(
    message: string,
    readonly status: number | null,
    options?: ErrorOptions,
  ) {
    super('BELFRY_ERR_HTTP_JOB_FAILED', message, options);
  }
}

export function createHttpJobClass(
  options: HttpJobOptions,
  deps: BuiltinJobDeps,
): JobClass<Record<string, unknown>> {
  const clock = deps.clock ?? systemClock;
  const method = options.method ?? 'GET';
  const timeoutMs = options.timeoutMs ?? DEFAULT_HTTP_TIMEOUT_MS;
  const connectTimeoutMs = Math.min(options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS, timeoutMs);
  const bodyTimeoutMs = options.bodyTimeoutMs ?? DEFAULT_BODY_TIMEOUT_MS;
  // The URL is shown in errors only when it is not a secret reference.
  const shownUrl = typeof options.url === 'string' ? options.url : describeSecretValue(options.url);
  const secretHeaderNames = Object.entries(options.headers ?? {})
    .filter(([, value]) => typeof value !== 'string')
    .map(([name]) => name.toLowerCase());

  return class HttpJob {
    static readonly builtin = 'http';

    async execute(ctx: JobContext): Promise<HttpJobResult> {
      const url = await resolveSecretValue(options.url, deps.secrets);
      const headers = await resolveSecretMap(options.headers, deps.secrets);
      const redact = secretRedactor([
        ...(typeof options.url === 'string' ? [] : urlSecrets(url)),
        ...Object.entries(headers)
          .filter(([name]) => secretHeaderNames.includes(name.toLowerCase()))
          .map(([, value]) => value),
      ]);
      const fail = (message: string, status: number | null, error?: unknown): HttpJobError =>
        new HttpJobError(redact(`${method} ${shownUrl}${message}${error ? causeText(error) : ''}`), status);

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
      const overall = AbortSignal.timeout(timeoutMs);
      const started = clock.monotonicMs();
      let request = { url, method: method as string, headers, body };
      let response: Response;
      for (let hop = 0; ; hop += 1) {
        const connect = AbortSignal.timeout(connectTimeoutMs);
        const signal = AbortSignal.any([ctx.signal, overall, connect]);
        try {
          const { method: verb, headers: sent, body: payload } = request;
          response = await (deps.fetch ?? fetch)(request.url, {
            method: verb,
            headers: sent,
            body: payload,
            signal,
            redirect: 'manual',
          });
        } catch (error) {
          if (ctx.signal.aborted) throw ctx.signal.reason ?? error;
          if (overall.aborted) throw fail(`: no answer within ${timeoutMs} ms`, null);
          if (connect.aborted) throw fail(`: no connection and answer within ${connectTimeoutMs} ms`, null);
          throw fail(`: request failed: ${(error as Error).message}`, null, error);
        }
        const hopResult = nextHop(request, response, {
          policy: options.redirects ?? 'same-origin',
          secretHeaders: secretHeaderNames,
        });
        if (hopResult.kind === 'final') break;
        await response.body?.cancel().catch(() => {});
        if (hopResult.kind === 'refused') throw fail(`: ${hopResult.reason}`, response.status);
        if (hop + 1 >= MAX_REDIRECTS) throw fail(`: more than ${MAX_REDIRECTS} redirects`, response.status);
        request = hopResult.request;
      }

      let text = '';
      const bodyDeadline = AbortSignal.timeout(bodyTimeoutMs);
      try {
        text = await readCapped(response, AbortSignal.any([ctx.signal, overall, bodyDeadline]));
      } catch (error) {
        if (ctx.signal.aborted) throw ctx.signal.reason ?? error;
        if (overall.aborted || bodyDeadline.aborted)
          throw fail(
            `: body not received within ${overall.aborted ? timeoutMs : bodyTimeoutMs} ms`,
            response.status,
          );
        // Any other failure to read a body only costs the excerpt.
      }
      const durationMs = Math.round(clock.monotonicMs() - started);
      if (response.status < 200 || response.status > 299) {
        const excerpt = text.slice(0, BODY_EXCERPT_CHARS);
        throw fail(` answered ${response.status}${excerpt ? `: ${excerpt}` : ''}`, response.status);
      }
      ctx.logger.debug({ status: response.status, durationMs }, 'http job answered');
      return { status: response.status, durationMs };
    }
  };
}

/** The first MAX_RESPONSE_BYTES of the body as text; the rest is cancelled, never buffered. */
async function readCapped(response: Response, signal: AbortSignal): Promise<string> {
  if (!response.body) return '';
  const reader = response.body.getReader();
  const onAbort = () => void reader.cancel(signal.reason).catch(() => {});
  signal.addEventListener('abort', onAbort, { once: true });
  const chunks: Uint8Array[] = [];
  let bytes = 0;
  try {
    while (bytes < MAX_RESPONSE_BYTES) {
      if (signal.aborted) throw signal.reason;
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      bytes += value.length;
    }
    if (signal.aborted) throw signal.reason;
  } finally {
    signal.removeEventListener('abort', onAbort);
    await reader.cancel().catch(() => {});
  }
  return Buffer.concat(chunks).subarray(0, MAX_RESPONSE_BYTES).toString('utf8');
}

/** A URL given as a secret, and the parts of it that show up alone (in a path echoed back, say). */
function urlSecrets(url: string): string[] {
  try {
    const parsed = new URL(url);
    return [url, parsed.username, parsed.password, ...parsed.searchParams.values()];
  } catch {
    return [url];
  }
}

function causeText(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  if (!cause) return '';
  return ` (${cause.code ?? cause.message ?? String(cause)})`;
}
