/**
 * The leader lease row and its terms. See cluster/leader-elector.ts for the design note.
 */
import { sql } from 'kysely';
import { dbClock, dbNow, notifyChange, table, type Executor } from './executor.js';

export interface Lease {
  epoch: number;
  expiresAt: Date;
}

/**
 * Takes the lease if it is free, expired, or held by an instance whose session is gone (its advisory
 * lock released) and whose last check-in is older than `holderGraceMs`. Renews it if we hold it.
 * Returns the lease we hold afterwards, or null.
 */
export async function acquireOrRenewLease(
  ex: Executor,
  params: { instanceId: string; ttlMs: number; lockNamespace: number; holderGraceMs: number; now?: Date },
): Promise<Lease | null> {
  const now = dbNow(ex, params.now);
  const { rows } = await sql<{ epoch: string; expires_at: Date; changed: boolean }>`
    WITH current AS (
      SELECT l.holder, l.epoch, l.expires_at FROM ${table(ex, 'leader')} l WHERE l.id = 1 FOR UPDATE
    ), decision AS (
      SELECT c.*, r.renew,
             NOT r.renew AND (c.holder IS NULL OR c.expires_at <= ${now} OR NOT EXISTS (
                SELECT 1 FROM ${table(ex, 'instances')} i
                 WHERE i.id = c.holder AND i.state = 'active'
                   AND (i.last_checkin_at > ${now} - ${params.holderGraceMs} * interval '1 millisecond'
                        OR EXISTS (SELECT 1 FROM pg_locks pl
                                    WHERE pl.locktype = 'advisory' AND pl.granted AND pl.objsubid = 2
                                      AND pl.database = (SELECT oid FROM pg_database WHERE datname = current_database())
                                      AND pl.classid = ${params.lockNamespace}::oid AND pl.objid = i.lock_key::oid)))
             ) AS take
        FROM current c
        CROSS JOIN LATERAL (SELECT (c.holder = ${params.instanceId}::uuid AND c.expires_at > ${now}) IS TRUE AS renew) r
    ), ended AS (
      UPDATE ${table(ex, 'leader_terms')} t SET ended_at = ${now}, end_reason = 'taken over'
        FROM decision d WHERE d.take AND t.epoch = d.epoch AND t.ended_at IS NULL
    ), updated AS (
      UPDATE ${table(ex, 'leader')} l
         SET holder = ${params.instanceId}::uuid,
             epoch = CASE WHEN d.take THEN l.epoch + 1 ELSE l.epoch END,
             acquired_at = CASE WHEN d.take THEN ${now} ELSE l.acquired_at END,
             expires_at = ${now} + ${params.ttlMs} * interval '1 millisecond'
        FROM decision d
       WHERE l.id = 1 AND (d.renew OR d.take)
      RETURNING l.epoch, l.expires_at, d.take AS changed
    ), term AS (
      INSERT INTO ${table(ex, 'leader_terms')} (epoch, holder, acquired_at)
      SELECT epoch, ${params.instanceId}::uuid, ${now} FROM updated WHERE changed
    )
    SELECT epoch, expires_at, changed FROM updated`.execute(ex.db);
  const row = rows[0];
  return row ? { epoch: Number(row.epoch), expiresAt: row.expires_at } : null;
}

/** Gives the lease up (graceful shutdown) and tells the other replicas at once. */
export async function resignLease(
  ex: Executor,
  params: { instanceId: string; epoch: number; now?: Date },
): Promise<boolean> {
  const now = dbNow(ex, params.now);
  const { rows } = await sql<{ epoch: string }>`
    WITH released AS (
      UPDATE ${table(ex, 'leader')} SET holder = NULL, expires_at = ${now}
       WHERE id = 1 AND holder = ${params.instanceId}::uuid AND epoch = ${params.epoch}
      RETURNING epoch
    ), ended AS (
      UPDATE ${table(ex, 'leader_terms')} t SET ended_at = ${now}, end_reason = 'resigned'
        FROM released r WHERE t.epoch = r.epoch
    )
    SELECT epoch FROM released`.execute(ex.db);
  if (rows.length > 0) await notifyChange(ex, 'leader');
  return rows.length > 0;
}

export interface LeaderRow {
  holder: string | null;
  holderName: string | null;
  epoch: number;
  acquiredAt: Date | null;
  expiresAt: Date | null;
  valid: boolean;
}

export async function currentLeader(ex: Executor): Promise<LeaderRow> {
  const { rows } = await sql<{
    holder: string | null;
    name: string | null;
    epoch: string;
    acquired_at: Date | null;
    expires_at: Date | null;
    valid: boolean;
  }>`
    SELECT l.holder, i.name, l.epoch, l.acquired_at, l.expires_at,
           (l.holder IS NOT NULL AND l.expires_at > ${dbClock(ex)}) AS valid
      FROM ${table(ex, 'leader')} l LEFT JOIN ${table(ex, 'instances')} i ON i.id = l.holder`.execute(ex.db);
  const row = rows[0]!;
  return {
    holder: row.holder,
    holderName: row.name,
    epoch: Number(row.epoch),
    acquiredAt: row.acquired_at,
    expiresAt: row.expires_at,
    valid: row.valid,
  };
}

/**
 * The fence for every leader-only write: locks the lease row in share mode and checks we still hold
 * `epoch`. Another replica's takeover (an UPDATE of that row) waits for this transaction, so the write
 * that follows in the same transaction cannot interleave with a change of leader.
 */
export async function holdsLease(
  ex: Executor,
  params: { instanceId: string; epoch: number; now?: Date },
): Promise<boolean> {
  const { rows } = await sql<{ ok: number }>`
    SELECT 1 AS ok FROM ${table(ex, 'leader')}
     WHERE id = 1 AND holder = ${params.instanceId}::uuid AND epoch = ${params.epoch}
       AND expires_at > ${dbNow(ex, params.now)}
       FOR SHARE`.execute(ex.db);
  return rows.length > 0;
}
