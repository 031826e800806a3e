/** A command given flags or arguments it cannot use, and the parsing of time flags that raises it. */
import { parseTimeBound } from '../api/history-filter.js';
import { BelfryError } from '../errors/belfry-error.js';

export class UsageError extends BelfryError.withCode('BELFRY_ERR_USAGE') {}

/** An instant, or a duration meaning "that long ago" (`--since 24h`). */
export function parseTimeFlag(value: string, flag: string, now: Date): Date {
  try {
    return parseTimeBound(value, flag, now);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}
