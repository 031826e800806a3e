/**
 * Start-up against a database that may not be there yet (a PostgreSQL restart, a failover, a compose
 * stack still booting): migrate, retrying connection errors with jittered exponential backoff for as
 * long as it takes. Never a crash loop; errors that are not about reaching the server still fail fast.
 */
import type { Logger } from 'pino';
import type pg from 'pg';
import { classifyDatabaseError } from '../store/errors.js';
import { migrate, type MigrationResult } from '../store/migrator.js';
import type { Clock } from '../time/clock.js';

export async function migrateWhenReachable(
  pool: pg.Pool,
  schema: string,
  deps: { clock: Clock; logger: Logger; signal?: AbortSignal; random?: () => number },
): Promise<MigrationResult | undefined> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      const result = await migrate(pool, schema);
      if (attempt > 1) deps.logger.info({ attempts: attempt }, 'database reachable');
      return result;
    } catch (error) {
      const kind = classifyDatabaseError(error);
      if (kind !== 'connection' && kind !== 'timeout' && kind !== 'retryable') throw error;
      const waitMs = Math.round(
        (deps.random ?? Math.random)() * Math.min(30_000, 250 * 2 ** Math.min(attempt, 10)),
      );
      deps.logger.warn({ err: error, attempt, retryInMs: waitMs }, 'database unreachable; retrying');
      await deps.clock.sleep(waitMs, deps.signal);
      if (deps.signal?.aborted) return undefined;
    }
  }
}
