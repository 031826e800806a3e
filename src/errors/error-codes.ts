/**
 * The one registry of Belfry's error codes, as Fastify keeps its `FST_ERR_*`.
 *
 * A code is a contract: callers match on it (`error.code === 'BELFRY_ERR_UNKNOWN_NAME'`), never on the
 * message, so a code keeps its meaning for ever. A code that is no longer thrown moves to
 * RETIRED_ERROR_CODES and is never given out again, not even for a similar meaning. docs/errors.md
 * says what each code means and what to do; a unit test fails when the two disagree.
 *
 * This module and belfry-error.ts import nothing: every layer, `time/` included (whose rule is "imports
 * nothing else"), may import them.
 */

export interface ErrorCodeInfo {
  /** What went wrong, in one line; docs/errors.md repeats it under the code's heading. */
  readonly summary: string;
  /** The HTTP status the admin API answers with, for the codes it maps to a problem response. */
  readonly status?: number;
}

export const ERROR_CODES = {
  // Schedules and durations (time/).
  BELFRY_ERR_BAD_SCHEDULE: { summary: 'A schedule spec (cron, interval, time zone, calendar) is invalid.' },
  BELFRY_ERR_BAD_DURATION: { summary: 'A duration is not a non-negative number or a text like "90s".' },
  // Database (store/).
  BELFRY_ERR_MIGRATION: { summary: 'The schema cannot be migrated, or the database is newer than the code.' },
  BELFRY_ERR_INSTANCE_FENCED: {
    summary: "A replica's identity was declared dead or checked out; it writes nothing under it again.",
  },
  // Jobs and listeners (jobs/, listeners/, engine/).
  BELFRY_ERR_PERMANENT: { summary: 'A job failed in a way that retrying cannot fix; it is not retried.' },
  BELFRY_ERR_JOB_REGISTRY: {
    summary: 'A job registration is invalid (its name, or a class without execute).',
  },
  BELFRY_ERR_COMMAND_JOB_FAILED: { summary: 'A command job could not start, exited non-zero or was killed.' },
  BELFRY_ERR_HTTP_JOB_FAILED: { summary: 'An HTTP job got no answer, or an answer with a failing status.' },
  BELFRY_ERR_SECRET_UNAVAILABLE: {
    summary: "A built-in job's secret (environment variable or file) is missing.",
  },
  BELFRY_ERR_LISTENER_TIMEOUT: { summary: 'A listener took longer than its time limit.' },
  BELFRY_ERR_JOB_TIMEOUT: { summary: 'A job ran past its timeout; its signal is aborted with this error.' },
  BELFRY_ERR_SHUTDOWN_DEADLINE: {
    summary: "The replica's shutdown deadline cut a running job off; recovery decides its outcome.",
  },
  BELFRY_ERR_REPLICA_STOPPING: {
    summary: 'The replica stopped before a claimed job started; the job is handed back to run elsewhere.',
  },
  // Definitions and apply (config/, cli/).
  BELFRY_ERR_INVALID_DEFINITIONS: { summary: 'YAML definitions (or jobs registered from them) have errors.' },
  BELFRY_ERR_PRUNE_REFUSED: { summary: 'An apply with --prune would delete something still in use.' },
  BELFRY_ERR_APPLY_FAILED: { summary: 'An apply failed; its transaction changed no definition.' },
  BELFRY_ERR_BAD_SETTINGS: {
    summary: 'An environment setting (BELFRY_*, DATABASE_URL) is missing or invalid.',
  },
  BELFRY_ERR_USAGE: { summary: 'A command was given flags or arguments it cannot use together.' },
  BELFRY_ERR_EMBEDDED_POSTGRES: { summary: 'belfry dev could not place or run its embedded PostgreSQL.' },
  // Admin operations and the admin API (api/). Each problem response carries its code.
  BELFRY_ERR_UNKNOWN_NAME: { summary: 'No trigger, job or group has that name.', status: 404 },
  BELFRY_ERR_BAD_FIRE_REQUEST: {
    summary: 'A fire request has data that is not a JSON object, or an instant without an offset.',
    status: 400,
  },
  BELFRY_ERR_BAD_HISTORY_FILTER: { summary: 'A history filter is invalid.', status: 400 },
  BELFRY_ERR_BAD_AUDIT_FILTER: { summary: 'An admin audit filter is invalid.', status: 400 },
  BELFRY_ERR_INVALID_REQUEST: {
    summary: 'The request is malformed (path, query, body or content type).',
    status: 400,
  },
  BELFRY_ERR_NOT_FOUND: { summary: 'No such resource or route.', status: 404 },
  BELFRY_ERR_CONFLICT: { summary: 'A referenced job or trigger changed concurrently.', status: 409 },
  BELFRY_ERR_UNAUTHORIZED: {
    summary: 'The admin API needs a valid bearer token for this request.',
    status: 401,
  },
  BELFRY_ERR_READ_ONLY_TOKEN: {
    summary: 'A read-only token asked for a change; changes need the admin token.',
    status: 403,
  },
  BELFRY_ERR_HOST_NOT_ALLOWED: { summary: 'The Host header does not name this server.', status: 403 },
  BELFRY_ERR_CROSS_ORIGIN: {
    summary: 'A browser sent a cross-origin request; the admin API refuses them.',
    status: 403,
  },
  BELFRY_ERR_NOT_JSON: { summary: 'A state-changing request was not sent as application/json.', status: 415 },
  BELFRY_ERR_RATE_LIMITED: { summary: 'Too many requests without a token from one address.', status: 429 },
  BELFRY_ERR_INTERNAL: {
    summary: 'The request failed unexpectedly; the replica log has the cause.',
    status: 500,
  },
} as const satisfies Record<`BELFRY_ERR_${string}`, ErrorCodeInfo>;

export type ErrorCode = keyof typeof ERROR_CODES;

/**
 * Codes never to be given out again, with why they left. The codes before 0.2 had no `ERR_`; each became
 * the same name with `ERR_` inserted (BELFRY_PERMANENT is now BELFRY_ERR_PERMANENT), and the CLI's
 * dotted codes (`belfry.invalid`) joined the same list.
 */
export const RETIRED_ERROR_CODES: Readonly<Record<string, string>> = {
  BELFRY_BAD_SCHEDULE: 'renamed BELFRY_ERR_BAD_SCHEDULE',
  BELFRY_BAD_DURATION: 'renamed BELFRY_ERR_BAD_DURATION',
  BELFRY_MIGRATION: 'renamed BELFRY_ERR_MIGRATION',
  BELFRY_INSTANCE_FENCED: 'renamed BELFRY_ERR_INSTANCE_FENCED',
  BELFRY_PERMANENT: 'renamed BELFRY_ERR_PERMANENT',
  BELFRY_JOB_REGISTRY: 'renamed BELFRY_ERR_JOB_REGISTRY',
  BELFRY_COMMAND_JOB_FAILED: 'renamed BELFRY_ERR_COMMAND_JOB_FAILED',
  BELFRY_HTTP_JOB_FAILED: 'renamed BELFRY_ERR_HTTP_JOB_FAILED',
  BELFRY_SECRET_UNAVAILABLE: 'renamed BELFRY_ERR_SECRET_UNAVAILABLE',
  BELFRY_LISTENER_TIMEOUT: 'renamed BELFRY_ERR_LISTENER_TIMEOUT',
  BELFRY_INVALID_DEFINITIONS: 'renamed BELFRY_ERR_INVALID_DEFINITIONS',
  BELFRY_PRUNE_REFUSED: 'renamed BELFRY_ERR_PRUNE_REFUSED',
  BELFRY_BAD_SETTINGS: 'renamed BELFRY_ERR_BAD_SETTINGS',
  BELFRY_USAGE: 'renamed BELFRY_ERR_USAGE',
  BELFRY_EMBEDDED_POSTGRES: 'renamed BELFRY_ERR_EMBEDDED_POSTGRES',
  BELFRY_UNKNOWN_NAME: 'renamed BELFRY_ERR_UNKNOWN_NAME',
  BELFRY_BAD_FIRE_REQUEST: 'renamed BELFRY_ERR_BAD_FIRE_REQUEST',
  BELFRY_BAD_HISTORY_FILTER: 'renamed BELFRY_ERR_BAD_HISTORY_FILTER',
  BELFRY_BAD_AUDIT_FILTER: 'renamed BELFRY_ERR_BAD_AUDIT_FILTER',
  'belfry.invalid': 'CLI code, now BELFRY_ERR_INVALID_DEFINITIONS',
  'belfry.usage': 'CLI code, now BELFRY_ERR_USAGE',
  'belfry.apply': 'CLI code, now BELFRY_ERR_APPLY_FAILED',
  'belfry.prune-refused': 'CLI code, now BELFRY_ERR_PRUNE_REFUSED',
};

/** The admin API's status for a code, when it maps that code to a problem response. */
export function httpStatusOf(code: ErrorCode): number | undefined {
  const info: ErrorCodeInfo = ERROR_CODES[code];
  return info.status;
}
