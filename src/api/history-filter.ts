/**
 * The history filter as people write it, shared by `belfry history` and `GET /api/v1/history`: one
 * schema for its shape, one function for its meaning (relative times, the status list, the range check),
 * so the CLI and the API accept exactly the same inputs and reject them with the same words.
 */
import { z } from 'zod';
import type { HistoryFilter } from '../store/history-store.js';
import type { ExecutionStatus } from '../store/tables.js';
import { parseDuration } from '../time/duration.js';
import { BelfryError } from '../errors/belfry-error.js';
import type { ErrorCode } from '../errors/error-codes.js';

export const EXECUTION_STATUSES: readonly ExecutionStatus[] = [
  'pending',
  'running',
  'succeeded',
  'failed',
  'timed_out',
  'skipped',
  'vetoed',
  'misfired',
  'recovered',
  'abandoned',
  'cancelled',
];

export const MAX_HISTORY_LIMIT = 100_000;

const text = (description: string) => z.string().min(1).max(500).describe(description);
const timeBound = (description: string) =>
  z
    .string()
    .min(1)
    .max(64)
    .describe(`${description}: an ISO 8601 instant, or a duration meaning that long ago (24h, 7d)`);

/** `limit` as a query parameter: digits here; the filter function checks the range and names the flag. */
export const limitParameter = (max: number) =>
  z
    .string()
    .regex(/^\d+$/, 'must be a positive integer')
    .describe(`rows at most (default 100, at most ${max})`);

/** The filter's shape, as query parameters (all strings); `status` may be repeated or comma-separated. */
export const historyQuerySchema = z
  .object({
    job: text('job name'),
    trigger: text('trigger name'),
    group: text('trigger group'),
    status: z
      .union([z.string().min(1), z.array(z.string().min(1))])
      .describe(`one or more of ${EXECUTION_STATUSES.join(', ')}; comma-separated or repeated`),
    instance: text('instance name or id'),
    since: timeBound('scheduled at or after'),
    until: timeBound('scheduled before'),
    minDuration: z.string().min(1).max(32).describe('at least this long, e.g. 500ms, 5s, 1m'),
    error: text('error message contains (case-insensitive)'),
    limit: limitParameter(MAX_HISTORY_LIMIT),
  })
  .partial()
  .strict();

export type HistoryQuery = z.input<typeof historyQuerySchema>;

/**
 * A filter field that has the right shape but a wrong value (an unknown status, a range backwards);
 * `field` names it as the query parameter, so the API's problem response can point at it.
 */
export abstract class FilterFieldError<Field extends string> extends BelfryError {
  constructor(
    code: ErrorCode,
    message: string,
    readonly field: Field,
  ) {
    super(code, message);
  }
}

export class HistoryFilterError extends FilterFieldError<keyof HistoryQuery> {
  constructor(message: string, field: keyof HistoryQuery) {
    super('BELFRY_ERR_BAD_HISTORY_FILTER', message, field);
  }
}

/** How a field is named to the user: `--min-duration` on the command line, `minDuration` in the API. */
export type FieldLabel = (field: keyof HistoryQuery) => string;

export const cliFlagLabel: FieldLabel = (field) =>
  `--${field.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
export const queryParameterLabel: FieldLabel = (field) => field;

/** An instant, or a duration meaning "that long ago" (`24h` → 24 hours before `now`). */
export function parseTimeBound(value: string, label: string, now: Date): Date {
  if (/^\d+(\.\d+)?(ms|s|m|h|d)/.test(value)) {
    try {
      return new Date(now.getTime() - parseDuration(value));
    } catch (error) {
      throw new Error(`${label}: ${(error as Error).message}`);
    }
  }
  const date = new Date(value);
  if (Number.isNaN(date.getTime()))
    throw new Error(`${label} "${value}" is neither an ISO 8601 instant nor a duration such as 24h`);
  return date;
}

/**
 * Checks and resolves a filter. Throws HistoryFilterError naming the field; `now` resolves relative
 * times (the caller's clock: a relative window is the operator's notion of "ago").
 */
export function toHistoryFilter(
  input: HistoryQuery,
  now: Date,
  label: FieldLabel = queryParameterLabel,
): HistoryFilter {
  const parsed = historyQuerySchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = (issue.code === 'unrecognized_keys' ? issue.keys[0] : issue.path[0]) as keyof HistoryQuery;
    const message =
      issue.code === 'unrecognized_keys'
        ? `unknown filter ${issue.keys.join(', ')}`
        : `${label(field)}: ${issue.message}`;
    throw new HistoryFilterError(message, field);
  }
  const query = parsed.data;
  const at = <T>(field: keyof HistoryQuery, work: () => T): T => {
    try {
      return work();
    } catch (error) {
      throw new HistoryFilterError((error as Error).message, field);
    }
  };
  const status =
    query.status === undefined
      ? undefined
      : [query.status]
          .flat()
          .flatMap((s) => s.split(','))
          .map((s) => s.trim());
  for (const s of status ?? []) {
    if (!EXECUTION_STATUSES.includes(s as ExecutionStatus)) {
      throw new HistoryFilterError(
        `${label('status')}: unknown status "${s}" (one of ${EXECUTION_STATUSES.join(', ')})`,
        'status',
      );
    }
  }
  const limit = query.limit === undefined ? 100 : Number(query.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_HISTORY_LIMIT) {
    throw new HistoryFilterError(
      `${label('limit')} must be an integer from 1 to ${MAX_HISTORY_LIMIT}, got "${query.limit}"`,
      'limit',
    );
  }
  const since =
    query.since === undefined
      ? undefined
      : at('since', () => parseTimeBound(query.since!, label('since'), now));
  const until =
    query.until === undefined
      ? undefined
      : at('until', () => parseTimeBound(query.until!, label('until'), now));
  if (since && until && since >= until) {
    throw new HistoryFilterError(
      `${label('since')} (${since.toISOString()}) must be before ${label('until')} (${until.toISOString()})`,
      'since',
    );
  }
  const minDurationMs =
    query.minDuration === undefined
      ? undefined
      : at('minDuration', () => {
          try {
            return parseDuration(query.minDuration!);
          } catch (error) {
            throw new Error(`${label('minDuration')}: ${(error as Error).message}`);
          }
        });
  return {
    job: query.job,
    trigger: query.trigger,
    group: query.group,
    status: status as ExecutionStatus[] | undefined,
    instance: query.instance,
    since,
    until,
    minDurationMs,
    errorContains: query.error,
    limit,
  };
}
