/**
 * History retention: the leader-only deletes that keep the audit history to its retention window.
 *
 * Each function deletes at most `limit` rows of one kind, oldest first, and is meant to run inside a
 * transaction that first passed `holdsLease` (leader-store.ts), so a leader that lost its lease deletes
 * nothing. The cutoff is `coalesce($now, now()) - retention`: the database's clock decides, never a
 * replica's.
 *
 * What may go, and why it is safe:
 *   - a fire scheduled before the cutoff whose executions are all terminal (none `pending`/`running`),
 *     with its executions, in one statement (no foreign key cascades since migrations/0011).
 *     `FOR UPDATE SKIP LOCKED` skips a fire that another transaction is touching (an operator's retry
 *     or re-run holds it FOR UPDATE while it adds the next attempt: operation-store.ts), and an attempt
 *     that the engine or the recovery adds follows one that was still `running`, so a fire still being
 *     worked on is never deleted under its writer. Whole expired weeks go before this, as a partition
 *     drop (partition-store.ts); this delete covers the rest: weeks kept for an unfinished attempt, and
 *     the default partition;
 *   - a one-off trigger created through the API (`fireNow`, `scheduleAt`, `belfry fire`, `POST
 *     /jobs/:name/fire`) that completed before the cutoff. One-offs declared in YAML are left alone:
 *     the next apply would recreate them and fire them again;
 *   - a stopped or dead instance that stopped before the cutoff, that no execution references and that
 *     does not hold the lease row;
 *   - a fan-in's progress row (fan_in_arrivals) whose first arrival is before the cutoff, with the fires;
 *   - a service run (service_runs, the rows of the service_history view) that ended before the cutoff.
 *     A run still open (ended_at null) stays however old: it is the shard's current run, whose uptime
 *     `belfry services` reads from it. Restarts are counted from the runs of the current epoch, so a
 *     crash older than the retention stops counting, as its history row is gone.
 */
import { sql } from 'kysely';
import { deleteOldestBatch } from './batch-delete.js';
import { dbNow, table, type Executor } from './executor.js';

export interface RetentionParams {
  /** Rows older than this (by the database clock) may be deleted. */
  retentionMs: number;
  /** Rows of one kind deleted at most. */
  limit: number;
  now?: Date;
}

function cutoff(ex: Executor, params: RetentionParams) {
  return sql<Date>`(${dbNow(ex, params.now)} - ${params.retentionMs} * interval '1 millisecond')`;
}

/** Deletes expired fires with their executions; returns how many of each went. */
export async function pruneExpiredFires(
  ex: Executor,
  params: RetentionParams,
): Promise<{ fires: number; executions: number }> {
  const { rows } = await sql<{ fires: string; executions: string }>`
    WITH doomed AS (
      SELECT f.id, f.scheduled_at
        FROM ${table(ex, 'fires')} f
       WHERE f.scheduled_at < ${cutoff(ex, params)}
         AND NOT EXISTS (SELECT 1 FROM ${table(ex, 'executions')} e
                          WHERE e.fire_id = f.id AND e.scheduled_at = f.scheduled_at
                            AND e.status IN ('pending', 'running'))
       ORDER BY f.scheduled_at
       LIMIT ${params.limit}
         FOR UPDATE OF f SKIP LOCKED
    ), gone_executions AS (
      -- No foreign key cascades (migrations/0011): a fire's attempts go in the same statement as the fire.
      DELETE FROM ${table(ex, 'executions')} e USING doomed d
       WHERE e.fire_id = d.id AND e.scheduled_at = d.scheduled_at RETURNING 1
    ), gone_fires AS (
      DELETE FROM ${table(ex, 'fires')} f USING doomed d WHERE f.id = d.id AND f.scheduled_at = d.scheduled_at RETURNING 1
    ), gone_arrivals AS (
      -- A fan-in's progress (migrations/0009) goes with the history it counted, by its first arrival.
      DELETE FROM ${table(ex, 'fan_in_arrivals')} a
       WHERE (a.after_trigger_id, a.scheduled_at) IN (
               SELECT after_trigger_id, scheduled_at FROM ${table(ex, 'fan_in_arrivals')}
                WHERE first_at < ${cutoff(ex, params)} ORDER BY first_at LIMIT ${params.limit})
    )
    SELECT (SELECT count(*) FROM gone_fires) AS fires, (SELECT count(*) FROM gone_executions) AS executions`.execute(
    ex.db,
  );
  return { fires: Number(rows[0]!.fires), executions: Number(rows[0]!.executions) };
}

/** Deletes completed API one-off triggers older than the cutoff (their fires keep their history). */
export async function pruneCompletedOneOffTriggers(ex: Executor, params: RetentionParams): Promise<number> {
  return deleteOldestBatch(ex, {
    from: 'triggers',
    alias: 't',
    where: sql`t.state = 'complete' AND t.kind = 'once' AND t.source = 'api'
         AND t.updated_at < ${cutoff(ex, params)}
         AND NOT EXISTS (SELECT 1 FROM ${table(ex, 'fires')} f
                           JOIN ${table(ex, 'executions')} e ON e.fire_id = f.id AND e.scheduled_at = f.scheduled_at
                          WHERE f.trigger_id = t.id AND e.status IN ('pending', 'running'))`,
    orderBy: sql`t.updated_at`,
    limit: params.limit,
  });
}

/**
 * Deletes stopped and dead instance rows older than the cutoff once no history of their time is left.
 *
 * An instance only ever runs attempts of fires that were due while it was alive, so every attempt that
 * references it belongs to a fire scheduled before it stopped. Rather than look for references among
 * all executions (`executions.instance_id` has no index: the firing path should not pay for one), the
 * row goes once no fire scheduled before it stopped (plus an hour, for a stalled replica's last writes)
 * remains: an index probe on `fires (scheduled_at)` that stops at the first row. Conservative: an old
 * fire kept for an unfinished attempt keeps the instances of its time too. Nothing has a foreign key to
 * an instance; were one removed early, `job_history.instance` would show its id instead of its name.
 */
export async function pruneGoneInstances(ex: Executor, params: RetentionParams): Promise<number> {
  return deleteOldestBatch(ex, {
    from: 'instances',
    alias: 'i',
    where: sql`i.state IN ('stopped', 'dead') AND coalesce(i.stopped_at, i.last_checkin_at) < ${cutoff(ex, params)}
         AND NOT EXISTS (SELECT 1 FROM ${table(ex, 'leader')} l WHERE l.holder = i.id)
         AND NOT EXISTS (SELECT 1 FROM ${table(ex, 'fires')} f
                          WHERE f.scheduled_at < coalesce(i.stopped_at, i.last_checkin_at) + interval '1 hour')`,
    orderBy: sql`coalesce(i.stopped_at, i.last_checkin_at)`,
    limit: params.limit,
  });
}

/**
 * Deletes service runs (the service_history view's rows) that ended before the cutoff, oldest first.
 * Walks the primary key (ids grow with start times) rather than sorting by ended_at, which has no index:
 * the scan stops after `limit` matches, and runs are few (one per start, stop or refused checkpoint).
 */
export async function pruneServiceRuns(ex: Executor, params: RetentionParams): Promise<number> {
  const runs = sql.table(`${ex.schema}.service_runs`);
  const { rows } = await sql<{ deleted: string }>`
    WITH doomed AS (
      SELECT r.id FROM ${runs} r
       WHERE r.ended_at < ${cutoff(ex, params)}
       ORDER BY r.id
       LIMIT ${params.limit}
         FOR UPDATE OF r SKIP LOCKED
    ), gone AS (
      DELETE FROM ${runs} r USING doomed d WHERE r.id = d.id RETURNING 1
    )
    SELECT count(*) AS deleted FROM gone`.execute(ex.db);
  return Number(rows[0]!.deleted);
}
