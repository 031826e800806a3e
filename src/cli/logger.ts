/** The process logger: pino JSON with secrets redacted (connection strings, tokens, authorization headers). */
import pino, { type Logger } from 'pino';

export const REDACT_PATHS = [
  'connectionString',
  'databaseUrl',
  '*.connectionString',
  '*.password',
  'password',
  'token',
  '*.token',
  'headers.authorization',
  '*.headers.authorization',
  'req.headers.authorization',
];

export function createLogger(options: { level: string; name?: string; base?: Record<string, unknown> }): Logger {
  return pino({
    level: options.level,
    name: options.name ?? 'belfry',
    base: { pid: process.pid, ...options.base },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
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
