/**
 * Reads for observability. Kept cheap and off the scrape path: the scheduler runs them beside its
 * heartbeat, only once something (a metrics reader) asked for the value, and caches the answer.
 */
import { sql } from 'kysely';
import { table, type Executor } from './executor.js';

/** Replicas currently registered as active (the `belfry_live_instances` gauge); uses `instances_active`. */
export async function countActiveInstances(ex: Executor): Promise<number> {
  const { rows } = await sql<{ count: number }>`
    SELECT count(*)::int AS count FROM ${table(ex, 'instances')} WHERE state = 'active'`.execute(ex.db);
  return rows[0]?.count ?? 0;
}
