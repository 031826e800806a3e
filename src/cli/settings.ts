/**
 * Process settings from the environment: one zod schema holds the defaults, the validation and the
 * documentation. Only the entry point reads `process.env`, and only through here.
 */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { parseDuration } from '../time/duration.js';
import { BelfryError } from '../errors/belfry-error.js';
import { DEFAULT_CONCURRENCY } from '../scheduler-options.js';

const duration = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((value, ctx) => {
      try {
        return parseDuration(value);
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: (error as Error).message });
        return z.NEVER;
      }
    });

const integer = (fallback: number, min: number, max: number) =>
  z.coerce.number().int().min(min).max(max).default(fallback);

export const settingsSchema = z.object({
  DATABASE_URL: z
    .string()
    .min(1)
    .optional()
    .describe(
      'PostgreSQL connection string; a multi-host URL (postgres://u:p@h1:5432,h2:5432/db) connects only to the writable primary',
    ),
  BELFRY_SESSION_DATABASE_URL: z
    .string()
    .min(1)
    .optional()
    .describe(
      'direct (or session-pooled) URL for the LISTEN/lock session when DATABASE_URL goes through a transaction pooler; a transaction-pooled one is refused at start',
    ),
  BELFRY_SCHEMA: z
    .string()
    .regex(/^[a-z_][a-z0-9_]*$/)
    .default('belfry'),
  BELFRY_CONFIG: z.string().optional().describe('YAML definitions file(s), comma-separated'),
  BELFRY_INSTANCE_NAME: z.string().optional(),
  BELFRY_LABELS: z
    .string()
    .regex(
      /^([A-Za-z0-9_.\/-]+=[^,=]*)(,[A-Za-z0-9_.\/-]+=[^,=]*)*$/,
      'write key=value pairs separated by commas',
    )
    .optional()
    .transform((text) => Object.fromEntries((text ? text.split(',') : []).map((pair) => pair.split('='))))
    .describe("this replica's labels (zone=a,tier=batch), matched by a service's placement"),
  BELFRY_HTTP_HOST: z.string().default('127.0.0.1'),
  BELFRY_HTTP_PORT: integer(8080, 0, 65535),
  BELFRY_HTTP_TOKEN: z
    .string()
    .min(16, 'BELFRY_HTTP_TOKEN must be at least 16 characters')
    .optional()
    .describe('admin token: every route, changes included (audited as "admin")'),
  BELFRY_HTTP_READ_TOKEN: z
    .string()
    .min(16, 'BELFRY_HTTP_READ_TOKEN must be at least 16 characters')
    .optional()
    .describe('read-only token: GET routes only, for scrapes and dashboards (audited as "read-only")'),
  BELFRY_HTTP_ALLOWED_HOSTS: z
    .string()
    .default('')
    .transform((value) =>
      value
        .split(',')
        .map((name) => name.trim())
        .filter(Boolean),
    )
    .describe('extra names the admin server may be addressed by (Host header), comma-separated'),
  BELFRY_HTTP_RATE_LIMIT: integer(100, 0, 1_000_000).describe(
    'requests per second per client address without a token (probes); bursts of twice that; 0: off',
  ),
  BELFRY_TRACE_URL: z
    .string()
    .regex(/^https?:\/\/.*\{traceId\}/, 'BELFRY_TRACE_URL must be an http(s) URL containing {traceId}')
    .optional()
    .describe("the dashboard's link to a trace, e.g. http://jaeger:16686/trace/{traceId}"),
  BELFRY_CONCURRENCY: integer(DEFAULT_CONCURRENCY, 1, 10_000),
  BELFRY_BATCH_SIZE: integer(500, 1, 10_000),
  BELFRY_SHUTDOWN_TIMEOUT: duration('30s'),
  BELFRY_HEARTBEAT_INTERVAL: duration('2s'),
  BELFRY_LEASE_TTL: duration('6s'),
  BELFRY_DEAD_AFTER: duration('10s'),
  BELFRY_HISTORY_RETENTION: duration('90d'),
  BELFRY_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type Settings = z.infer<typeof settingsSchema>;

export class SettingsError extends BelfryError.withCode('BELFRY_ERR_BAD_SETTINGS') {}

export function readSettings(env: NodeJS.ProcessEnv = process.env): Settings {
  const parsed = settingsSchema.safeParse(
    Object.fromEntries(Object.entries(env).filter(([, v]) => v !== '')),
  );
  if (!parsed.success) {
    throw new SettingsError(
      parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('\n'),
    );
  }
  return parsed.data;
}

/** BELFRY_SCHEMA when it is set rather than defaulted: it then wins over the local cluster's schema. */
export function explicitSchema(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return env.BELFRY_SCHEMA ? readSettings(env).BELFRY_SCHEMA : undefined;
}

/** A fresh admin token (for `belfry dev`, which must not leave the admin API open to browsers). */
/**
 * The process environment, for what must pass it on: the variables of child processes (replicas, the
 * embedded server's tools), the OpenTelemetry SDK's `OTEL_*`, and `{ env }` secrets of built-in jobs.
 * Library code never reads it; it is handed what it needs from here.
 */
export function processEnvironment(): NodeJS.ProcessEnv {
  return process.env;
}

export function generateAdminToken(): string {
  return randomBytes(24).toString('base64url');
}
