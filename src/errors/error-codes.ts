/**
 * The one registry of Belfry's error codes, as Fastify keeps its `FST_ERR_*`.
 *
 * A code is a contract: callers match on it (`error.code === 'BELFRY_ERR_UNKNOWN_NAME'`), never on the
 * message, so a code keeps its meaning for ever. A code that is no longer thrown moves to
 * RETIRED_ERROR_CODES and is never given out again, not even for a similar meaning. docs/errors.md
 * says what each code means and what to do; a unit test fails when the two disagree.
 *
 * A new code joins `codes({...})` with its summary, or, when the admin API answers it with a problem
 * response, the entries below as `problem(status, summary)`; a `BELFRY_ERR_X: { summary }` entry works too.
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

/** Codes without an HTTP status, each name with its summary. */
function codes<const T extends Record<`BELFRY_ERR_${string}`, string>>(
  summaries: T,
): { readonly [K in keyof T]: ErrorCodeInfo } {
  const entries = Object.entries(summaries).map(([code, summary]) => [code, { summary }]);
  // fromEntries types its keys as string; they are exactly T's.
  return Object.fromEntries(entries) as { readonly [K in keyof T]: ErrorCodeInfo };
}

/** A code the admin API maps to a problem response with this HTTP status. */
function problem(status: number, summary: string): ErrorCodeInfo {
  return { summary, status };
}

export const ERROR_CODES = {
  ...codes({
    // Schedules and durations (time/).
    BELFRY_ERR_BAD_SCHEDULE: 'A schedule spec (cron, interval, time zone, calendar) is invalid.',
    BELFRY_ERR_BAD_DURATION: 'A duration is not a non-negative number or a text like "90s".',
    // Database (store/).
    BELFRY_ERR_MIGRATION: 'The schema cannot be migrated, or the database is newer than the code.',
    BELFRY_ERR_INSTANCE_FENCED:
      "A replica's identity was declared dead or checked out; it writes nothing under it again.",
    BELFRY_ERR_NO_PRIMARY: 'No host of the database URL is a writable primary (a failover under way).',
    BELFRY_ERR_SESSION_POOLED:
      'The session URL goes through a transaction pooler; session locks and LISTEN need a direct URL.',
    // Jobs and listeners (jobs/, listeners/, engine/).
    BELFRY_ERR_PERMANENT: 'A job failed in a way that retrying cannot fix; it is not retried.',
    BELFRY_ERR_JOB_REGISTRY: 'A job registration is invalid (its name, or a class without execute).',
    BELFRY_ERR_COMMAND_JOB_FAILED: 'A command job could not start, exited non-zero or was killed.',
    BELFRY_ERR_HTTP_JOB_FAILED: 'An HTTP job got no answer, or an answer with a failing status.',
    BELFRY_ERR_SECRET_UNAVAILABLE: "A built-in job's secret (environment variable or file) is missing.",
    BELFRY_ERR_LISTENER_TIMEOUT: 'A listener took longer than its time limit.',
    BELFRY_ERR_JOB_TIMEOUT: 'A job ran past its timeout; its signal is aborted with this error.',
    BELFRY_ERR_SHUTDOWN_DEADLINE:
      "The replica's shutdown deadline cut a running job off; recovery decides its outcome.",
    BELFRY_ERR_REPLICA_STOPPING:
      'The replica stopped before a claimed job started; the job is handed back to run elsewhere.',
    BELFRY_ERR_CANCELLED: "An operator cancelled the execution (belfry cancel); the job's signal is aborted.",
    // Long-running services (hosted/).
    BELFRY_ERR_SERVICE_FENCED:
      "A service shard's checkpoint write carried an epoch that no longer holds the lease.",
    BELFRY_ERR_SERVICE_REGISTRY: 'A service registration is invalid (its name, class, shards or options).',
    // Definitions and apply (config/, cli/).
    BELFRY_ERR_INVALID_DEFINITIONS: 'YAML definitions (or jobs registered from them) have errors.',
    BELFRY_ERR_PRUNE_REFUSED: 'An apply with --prune would delete something still in use.',
    BELFRY_ERR_APPLY_FAILED: 'An apply failed; its transaction changed no definition.',
    BELFRY_ERR_BAD_SETTINGS: 'An environment setting (BELFRY_*, DATABASE_URL) is missing or invalid.',
    BELFRY_ERR_USAGE: 'A command was given flags or arguments it cannot use together.',
    BELFRY_ERR_EMBEDDED_POSTGRES: 'belfry dev could not place or run its embedded PostgreSQL.',
    BELFRY_ERR_TEST_CLOCK:
      "The testing kit's clock was moved back, or used on a schema the testing kit did not create.",
  }),
  // The admin API (api/). Each problem response carries its code and HTTP status.
  BELFRY_ERR_BAD_FIRE_REQUEST: problem(
    400,
    'A fire request has data that is not a JSON object, or an instant without an offset.',
  ),
  BELFRY_ERR_BAD_HISTORY_FILTER: problem(400, 'A history filter is invalid.'),
  BELFRY_ERR_BAD_AUDIT_FILTER: problem(400, 'An admin audit filter is invalid.'),
  BELFRY_ERR_BAD_BACKFILL: problem(400, 'A backfill request is invalid (its window, its trigger, its size).'),
  BELFRY_ERR_INVALID_REQUEST: problem(400, 'The request is malformed (path, query, body or content type).'),
  BELFRY_ERR_UNAUTHORIZED: problem(401, 'The admin API needs a valid bearer token for this request.'),
  BELFRY_ERR_READ_ONLY_TOKEN: problem(
    403,
    'A read-only token asked for a change; changes need the admin token.',
  ),
  BELFRY_ERR_HOST_NOT_ALLOWED: problem(403, 'The Host header does not name this server.'),
  BELFRY_ERR_CROSS_ORIGIN: problem(403, 'A browser sent a cross-origin request; the admin API refuses them.'),
  BELFRY_ERR_UNKNOWN_NAME: problem(404, 'No trigger, job or group has that name.'),
  BELFRY_ERR_UNKNOWN_EXECUTION: problem(404, 'No execution or fire has that id.'),
  BELFRY_ERR_UNKNOWN_SERVICE: problem(404, 'No service has that name.'),
  BELFRY_ERR_NOT_FOUND: problem(404, 'No such resource or route.'),
  BELFRY_ERR_CONFLICT: problem(409, 'A referenced job or trigger changed concurrently.'),
  BELFRY_ERR_WRONG_STATE: problem(
    409,
    'The execution or fire is not in a state the operation accepts (retry, re-run, cancel, discard).',
  ),
  BELFRY_ERR_NOT_JSON: problem(415, 'A state-changing request was not sent as application/json.'),
  BELFRY_ERR_RATE_LIMITED: problem(429, 'Too many requests without a token from one address.'),
  BELFRY_ERR_INTERNAL: problem(500, 'The request failed unexpectedly; the replica log has the cause.'),
} as const satisfies Record<`BELFRY_ERR_${string}`, ErrorCodeInfo>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** The codes before 0.2, each retired for the same name with `ERR_` inserted after `BELFRY_`. */
function renamedBefore02(names: readonly string[]): Record<string, string> {
  return Object.fromEntries(names.map((name) => [`BELFRY_${name}`, `renamed BELFRY_ERR_${name}`]));
}

/**
 * Codes never to be given out again, with why they left. The codes before 0.2 had no `ERR_`; each became
 * the same name with `ERR_` inserted (BELFRY_PERMANENT is now BELFRY_ERR_PERMANENT), and the CLI's
 * dotted codes (`belfry.invalid`) joined the same list.
 */
export const RETIRED_ERROR_CODES: Readonly<Record<string, string>> = {
  ...renamedBefore02([
    'BAD_SCHEDULE',
    'BAD_DURATION',
    'MIGRATION',
    'INSTANCE_FENCED',
    'PERMANENT',
    'JOB_REGISTRY',
    'COMMAND_JOB_FAILED',
    'HTTP_JOB_FAILED',
    'SECRET_UNAVAILABLE',
    'LISTENER_TIMEOUT',
    'INVALID_DEFINITIONS',
    'PRUNE_REFUSED',
    'BAD_SETTINGS',
    'USAGE',
    'EMBEDDED_POSTGRES',
    'UNKNOWN_NAME',
    'BAD_FIRE_REQUEST',
    'BAD_HISTORY_FILTER',
    'BAD_AUDIT_FILTER',
  ]),
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
