/**
 * The process logger: pino JSON, one object per line, with
 *  - the active span's `trace_id`/`span_id` on every line logged inside a span (the mixin);
 *  - secrets redacted: known fields by path (connection strings, passwords, tokens, authorization and
 *    cookie headers, OTLP headers), and credentials inside text (a URL's password, `password=` in a
 *    key-value connection string) in the message, in top-level string fields and in serialized errors,
 *    where drivers put them.
 */
import pino, { type DestinationStream, type Logger } from 'pino';
import { traceContextMixin } from '../observability/log-trace-context.js';

const SECRET_FIELDS = [
  'connectionString',
  'sessionConnectionString',
  'databaseUrl',
  'DATABASE_URL',
  'BELFRY_SESSION_DATABASE_URL',
  'BELFRY_HTTP_TOKEN',
  'BELFRY_HTTP_READ_TOKEN',
  'OTEL_EXPORTER_OTLP_HEADERS',
  'OTEL_EXPORTER_OTLP_TRACES_HEADERS',
  'password',
  'token',
  'secret',
  'apiKey',
  'authorization',
];

export const REDACT_PATHS = [
  ...SECRET_FIELDS,
  ...SECRET_FIELDS.map((field) => `*.${field}`),
  'headers.authorization',
  'headers.cookie',
  '*.headers.authorization',
  '*.headers.cookie',
  'req.headers.authorization',
  'req.headers.cookie',
];

export interface LoggerOptions {
  level: string;
  name?: string;
  base?: Record<string, unknown>;
  /** Where lines go (default: stdout, see `standardOutput`); tests pass a stream. */
  destination?: DestinationStream;
}

export function createLogger(options: LoggerOptions): Logger {
  const config: pino.LoggerOptions = {
    level: options.level,
    name: options.name ?? 'belfry',
    base: { pid: process.pid, ...options.base },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
    mixin: traceContextMixin,
    serializers: { err: serializeError, error: serializeError },
    formatters: { log: redactTopLevelStrings },
    hooks: {
      logMethod(args, method) {
        // The message is the first string argument (after an optional merging object).
        const index = typeof args[0] === 'string' ? 0 : typeof args[1] === 'string' ? 1 : -1;
        if (index >= 0) args[index] = redactSecretsInText(args[index] as string);
        method.apply(this, args);
      },
    },
  };
  return pino(config, options.destination ?? standardOutput());
}

/** One 'error' listener for all the loggers of the process (an EPIPE on stdout means every one). */
let watchingStdout = false;
let stdoutGone = false;

/**
 * Log lines to process.stdout, written at once (synchronously to a file or a terminal; to a pipe, at
 * once while it has room, else queued) and dropped once the reader is gone. Not pino's default
 * (sonic-boom, flushed synchronously at exit): when stdout's reader has gone away (the `belfry dev`
 * that read it died, or `npm start | tee` and the Ctrl-C that ended tee), its exit flush retries a write
 * that fails with EPIPE every 100 ms, for ever, inside process.exit, so the replica could neither exit
 * nor act on a later SIGTERM. The price: lines still queued for a pipe whose reader is more than a pipe
 * buffer (64 KiB) behind are lost at exit.
 */
function standardOutput(): DestinationStream {
  if (!watchingStdout) {
    watchingStdout = true;
    process.stdout.on('error', () => (stdoutGone = true));
  }
  return {
    write(line: string) {
      if (!stdoutGone) process.stdout.write(line);
    },
  };
}

function serializeError(error: unknown): unknown {
  if (!(error instanceof Error)) return typeof error === 'string' ? redactSecretsInText(error) : error;
  const serialized = pino.stdSerializers.err(error) as unknown as Record<string, unknown>;
  for (const key of ['message', 'stack'] as const) {
    if (typeof serialized[key] === 'string') serialized[key] = redactSecretsInText(serialized[key]);
  }
  return serialized;
}

/** Credentials inside the line's own string fields (a `dsn`, a `url`, a driver's `detail`). */
function redactTopLevelStrings(object: Record<string, unknown>): Record<string, unknown> {
  let result = object;
  for (const [key, value] of Object.entries(object)) {
    if (typeof value !== 'string') continue;
    const clean = redactSecretsInText(value);
    if (clean === value) continue;
    if (result === object) result = { ...object }; // never change the caller's object
    result[key] = clean;
  }
  return result;
}

const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/[^:/?#@\s]*):[^@/\s]+@/gi;
const KEY_VALUE_PASSWORD = /\b(password\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s;]+)/gi;

/** Removes passwords from URLs and key-value connection strings found in free text. */
export function redactSecretsInText(text: string): string {
  if (!text.includes('@') && !/password/i.test(text)) return text;
  return text.replace(URL_CREDENTIALS, '$1:[redacted]@').replace(KEY_VALUE_PASSWORD, '$1[redacted]');
}

/** Strips the password from a PostgreSQL URL for messages. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '[unparseable url]';
  }
}
