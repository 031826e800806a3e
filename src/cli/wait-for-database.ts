/**
 * Start-up against a database that may not be there yet (a PostgreSQL restart, a failover, a compose
 * stack still booting): migrate, retrying connection errors with jittered exponential backoff for as
 * long as it takes. Never a crash loop; errors that are not about reaching the server still fail fast.
 */
import type { Logger } from 'pino';
import type pg from 'pg';
import { classifyDatabaseError } from '../store/errors.js';
import { migrate, type MigrationResult } from '../store/migrator.js';
import { backoffDelay } from '../time/backoff.js';
import type { Clock } from '../time/clock.js';

/** 0–500 ms after the first failure, doubling to 0–30 s from the seventh on. */
const RECONNECT_BACKOFF = { initialMs: 500, maxMs: 30_000, jitter: 'full' } as const;

export async function migrateWhenReachable(
  pool: pg.Pool,
  schema: string,
  deps: {
    clock: Clock;
    logger: Logger;
    signal?: AbortSignal;
    /** Draws the backoff's jitter, in [0, 1) (default Math.random). */
    random?: () => number;
  },
): Promise<MigrationResult | undefined> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      const result = await migrate(pool, schema);
      if (attempt > 1) deps.logger.info({ attempts: attempt }, 'database reachable');
      return result;
    } catch (error) {
      const kind = classifyDatabaseError(error);
      if (kind !== 'connection' && kind !== 'timeout' && kind !== 'retryable') throw error;
      // Full jitter: replicas restarted together by the same outage must not reconnect in step.
      const waitMs = backoffDelay({ ...RECONNECT_BACKOFF, attempt }, deps.random);
      deps.logger.warn({ err: error, attempt, retryInMs: waitMs }, 'database unreachable; retrying');
      await deps.clock.sleep(waitMs, deps.signal);
      if (deps.signal?.aborted) return undefined;
    }
  }
}
