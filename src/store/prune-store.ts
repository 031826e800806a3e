/**
 * SQL that a prune needs beyond definition-store.ts.
 *
 * Deleting a job cascades to every trigger that fires it, and API one-offs (`fireNow`, `belfry fire`)
 * are inserted without the definitions lock. Locking the job rows FOR UPDATE before the final read
 * closes that gap: an insert's foreign-key check takes FOR KEY SHARE on the job row, so a one-off
 * created after the read waits for the apply and then fails (its job is gone) instead of being
 * deleted unseen by the cascade.
 */
import { sql } from 'kysely';
import type { Executor } from './executor.js';

/** Holds the named job rows until the end of the caller's transaction. */
export async function lockJobsForDelete(ex: Executor, params: { names: readonly string[] }): Promise<void> {
  if (!ex.db.isTransaction) throw new Error('lockJobsForDelete must run inside a transaction');
  if (params.names.length === 0) return;
  await ex.db
    .selectFrom('jobs')
    .select('name')
    .where('name', 'in', [...params.names])
    .forUpdate()
    .execute();
}

/** Pending and running executions per job (only jobs that have some are in the map). */
export async function countUnfinishedExecutions(
  ex: Executor,
  params: { jobs: readonly string[] },
): Promise<Map<string, number>> {
  if (params.jobs.length === 0) return new Map();
  const rows = await ex.db
    .selectFrom('executions')
    .select(['job_name', sql<string>`count(*)`.as('count')])
    .where('status', 'in', ['pending', 'running'])
    .where('job_name', 'in', [...params.jobs])
    .groupBy('job_name')
    .execute();
  return new Map(rows.map((row) => [row.job_name, Number(row.count)]));
}
