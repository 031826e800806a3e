/**
 * Leases, checkpoints and history of long-running services (migration 0008; design note in
 * src/hosted/service-host.ts).
 *
 * A shard's lease is taken when it is free, expired (by database time), or held by an instance that is
 * no longer active or whose session is gone (its advisory lock released) and whose last check-in is older
 * than the session grace: the same crash rule as the leader lease. Taking a lease increments its epoch;
 * renewing never does. The checkpoint is written only under the current epoch by its holder, so a stale
 * holder's write changes nothing (the caller turns that into ServiceFencedError).
 *
 * `claimServiceLeases` is the one statement a replica runs per beat, whatever the number of shards: it
 * renews every lease the replica holds and takes free ones up to the replica's fair share.
 */
import { sql, type RawBuilder } from 'kysely';
import { dbClock, dbNow, notifyChange, type Executor } from './executor.js';

/** The NOTIFY payload that wakes the service hosts (a release, a pause or resume). */
export const SERVICES_NOTIFY = 'services';

type ServiceTable = 'services' | 'service_leases' | 'service_members' | 'service_runs' | 'service_history';

function serviceTable(ex: Executor, name: ServiceTable): RawBuilder<unknown> {
  return sql.table(`${ex.schema}.${name}`);
}

/** Creates or updates the services (shard counts: the last registration wins) and their lease rows. */
export async function ensureServices(
  ex: Executor,
  params: { services: { name: string; shards: number }[] },
): Promise<void> {
  if (params.services.length === 0) return;
  const names = params.services.map((s) => s.name);
  const shards = params.services.map((s) => s.shards);
  await sql`
    WITH input AS (SELECT * FROM unnest(${names}::text[], ${shards}::int[]) AS x(name, shards)),
    upserted AS (
      INSERT INTO ${serviceTable(ex, 'services')} (name, shards)
      SELECT name, shards FROM input
      ON CONFLICT (name) DO UPDATE SET shards = EXCLUDED.shards, updated_at = ${dbNow(ex)}
        WHERE ${serviceTable(ex, 'services')}.shards <> EXCLUDED.shards
    )
    SELECT 1`.execute(ex.db);
  await sql`
    INSERT INTO ${serviceTable(ex, 'service_leases')} (service, shard)
    SELECT x.name, g.shard
      FROM unnest(${names}::text[], ${shards}::int[]) AS x(name, shards)
     CROSS JOIN LATERAL generate_series(0, x.shards - 1) AS g(shard)
    ON CONFLICT DO NOTHING`.execute(ex.db);
}

export interface ClaimedLease {
  service: string;
  shard: number;
  epoch: number;
  /** 'renewed': held before; 'acquired': taken by this statement (a new epoch). */
  kind: 'renewed' | 'acquired';
  paused: boolean;
  /** The replica's fair share of the service's shards: ⌈shards / eligible live replicas⌉. */
  cap: number;
  shards: number;
  /** For an acquired lease: ms from the previous holder's release (or last renewal) to now, by DB time. */
  handoverMs: number | null;
  /** The fewest shards of this service any other eligible live replica holds (null: no other replica). */
  minOther: number | null;
  /** Shards of this service free or expired before this statement (a replica short of its share takes them). */
  unheld: number;
}

export interface ClaimParams {
  instanceId: string;
  /** The services this replica can run. */
  services: string[];
  ttlMs: number;
  lockNamespace: number;
  holderGraceMs: number;
  /** Shards this replica gave up on lately, as "service/shard": not taken back while cooling down. */
  avoid: string[];
  now?: Date;
}

/**
 * Renews every lease this instance holds (unexpired), takes takeable shards up to its fair share, and
 * records it as a member of its services: one statement. Returns the leases held afterwards. Nothing
 * is renewed or taken unless the instance is active (a fenced identity holds nothing).
 */
export async function claimServiceLeases(ex: Executor, params: ClaimParams): Promise<ClaimedLease[]> {
  if (params.services.length === 0) return [];
  const now = dbNow(ex, params.now);
  const me = sql`${params.instanceId}::uuid`;
  const ttl = sql`${params.ttlMs} * interval '1 millisecond'`;
  const leases = serviceTable(ex, 'service_leases');
  const instances = sql.table(`${ex.schema}.instances`);
  const { rows } = await sql<{
    service: string;
    shard: number;
    epoch: string;
    kind: 'renewed' | 'acquired';
    paused: boolean;
    cap: number;
    shards: number;
    handover_ms: number | null;
    min_other: number | null;
    unheld: number;
  }>`
    WITH self AS MATERIALIZED (
      SELECT id FROM ${instances} WHERE id = ${me} AND state = 'active' FOR SHARE
    ), mine AS (
      SELECT s.name, s.shards, s.paused FROM ${serviceTable(ex, 'services')} s
       WHERE s.name = ANY(${params.services}::text[]) AND EXISTS (SELECT 1 FROM self)
    ), joined AS (
      INSERT INTO ${serviceTable(ex, 'service_members')} (service, instance_id)
      SELECT name, ${me} FROM mine ON CONFLICT DO NOTHING
    ), alive AS MATERIALIZED (
      -- Instances whose shards may not be taken: active, and checked in within the grace or holding their
      -- session lock (the leader lease's crash rule). Counted ones also checked in within a lease TTL, so
      -- a stalled replica stops counting towards the fair share once its leases could have expired.
      SELECT i.id, i.last_checkin_at > ${now} - ${ttl} AS counted
        FROM ${instances} i
       WHERE i.state = 'active'
         AND (i.last_checkin_at > ${now} - ${params.holderGraceMs} * interval '1 millisecond'
              OR EXISTS (SELECT 1 FROM pg_locks pl
                          WHERE pl.locktype = 'advisory' AND pl.granted AND pl.objsubid = 2
                            AND pl.database = (SELECT oid FROM pg_database WHERE datname = current_database())
                            AND pl.classid = ${params.lockNamespace}::oid AND pl.objid = i.lock_key::oid))
    ), eligible AS (
      SELECT m.name, m.shards, m.paused,
             (SELECT count(*) FROM ${serviceTable(ex, 'service_members')} sm
                JOIN alive a ON a.id = sm.instance_id AND a.counted
               WHERE sm.service = m.name AND sm.instance_id <> ${me})::int + 1 AS replicas
        FROM mine m
    ), caps AS (
      SELECT e.*, ceil(e.shards::numeric / e.replicas)::int AS cap,
             (SELECT count(*) FROM ${leases} l
               WHERE l.service = e.name AND l.holder = ${me} AND l.expires_at > ${now} AND l.shard < e.shards)::int AS held,
             (SELECT min((SELECT count(*) FROM ${leases} l
                           WHERE l.service = e.name AND l.holder = sm.instance_id AND l.expires_at > ${now}
                             AND l.shard < e.shards))::int
                FROM ${serviceTable(ex, 'service_members')} sm
                JOIN alive a ON a.id = sm.instance_id AND a.counted
               WHERE sm.service = e.name AND sm.instance_id <> ${me}) AS min_other,
             (SELECT count(*) FROM ${leases} l
               WHERE l.service = e.name AND l.shard < e.shards
                 AND (l.holder IS NULL OR l.expires_at IS NULL OR l.expires_at <= ${now}))::int AS unheld
        FROM eligible e
    ), renewed AS (
      UPDATE ${leases} l SET renewed_at = ${now}, expires_at = ${now} + ${ttl}
        FROM caps c
       WHERE l.service = c.name AND l.holder = ${me} AND l.expires_at > ${now} AND l.shard < c.shards
      RETURNING l.service, l.shard, l.epoch
    ), takeable AS (
      SELECT l.service, l.shard, l.epoch, l.released_at, l.renewed_at, l.expires_at
        FROM ${leases} l JOIN caps c ON c.name = l.service
       WHERE NOT c.paused AND c.held < c.cap AND l.shard < c.shards
         AND NOT ((l.service || '/' || l.shard) = ANY(${params.avoid}::text[]))
         AND NOT (l.holder IS NOT DISTINCT FROM ${me} AND l.expires_at > ${now})
         AND (l.holder IS NULL OR l.expires_at IS NULL OR l.expires_at <= ${now}
              OR (l.holder <> ${me} AND NOT EXISTS (SELECT 1 FROM alive a WHERE a.id = l.holder)))
       ORDER BY l.service, l.shard
         FOR UPDATE OF l SKIP LOCKED
    ), ranked AS (
      SELECT t.*, row_number() OVER (PARTITION BY t.service ORDER BY t.shard) AS rn FROM takeable t
    ), picked AS (
      SELECT r.* FROM ranked r JOIN caps c ON c.name = r.service WHERE r.rn <= c.cap - c.held
    ), taken AS (
      UPDATE ${leases} l
         SET holder = ${me}, epoch = l.epoch + 1, acquired_at = ${now}, renewed_at = ${now},
             expires_at = ${now} + ${ttl}, released_at = NULL
        FROM picked p
       WHERE l.service = p.service AND l.shard = p.shard
      RETURNING l.service, l.shard, l.epoch,
                (extract(epoch FROM ${now} - coalesce(p.released_at, p.renewed_at, ${now})) * 1000)::float8 AS handover_ms,
                p.expires_at AS old_expires_at, p.epoch AS old_epoch
    ), lost AS (
      UPDATE ${serviceTable(ex, 'service_runs')} r
         SET ended_at = least(${now}, coalesce(t.old_expires_at, ${now})), reason = 'lease lost'
        FROM taken t
       WHERE r.service = t.service AND r.shard = t.shard AND r.ended_at IS NULL AND r.epoch <= t.old_epoch
    )
    SELECT r.service, r.shard, r.epoch, 'renewed' AS kind, c.paused, c.cap, c.shards,
           NULL::float8 AS handover_ms, c.min_other, c.unheld
      FROM renewed r JOIN caps c ON c.name = r.service
    UNION ALL
    SELECT t.service, t.shard, t.epoch, 'acquired', c.paused, c.cap, c.shards, t.handover_ms, c.min_other,
           c.unheld
      FROM taken t JOIN caps c ON c.name = t.service`.execute(ex.db);
  return rows.map((row) => ({
    service: row.service,
    shard: row.shard,
    epoch: Number(row.epoch),
    kind: row.kind,
    paused: row.paused,
    cap: row.cap,
    shards: row.shards,
    handoverMs: row.handover_ms === null ? null : Math.max(0, row.handover_ms),
    minOther: row.min_other,
    unheld: row.unheld,
  }));
}

/**
 * Gives leases up (graceful stop, pause, rebalance, too many crashes), ends their open runs with `reason`,
 * and wakes the peers with a NOTIFY so that one takes over at once. Returns how many were released.
 */
export async function releaseServiceLeases(
  ex: Executor,
  params: {
    instanceId: string;
    leases: { service: string; shard: number; epoch: number }[];
    reason: string;
    now?: Date;
  },
): Promise<number> {
  if (params.leases.length === 0) return 0;
  const now = dbNow(ex, params.now);
  const { rows } = await sql<{ n: number }>`
    WITH input AS (
      SELECT * FROM unnest(${params.leases.map((l) => l.service)}::text[],
                           ${params.leases.map((l) => l.shard)}::int[],
                           ${params.leases.map((l) => l.epoch)}::bigint[]) AS x(service, shard, epoch)
    ), released AS (
      UPDATE ${serviceTable(ex, 'service_leases')} l
         SET holder = NULL, expires_at = ${now}, released_at = ${now}
        FROM input x
       WHERE l.service = x.service AND l.shard = x.shard AND l.epoch = x.epoch
         AND l.holder = ${params.instanceId}::uuid
      RETURNING l.service, l.shard, l.epoch
    ), ended AS (
      UPDATE ${serviceTable(ex, 'service_runs')} r SET ended_at = ${now}, reason = ${params.reason}
        FROM released x
       WHERE r.service = x.service AND r.shard = x.shard AND r.epoch = x.epoch AND r.ended_at IS NULL
    )
    SELECT count(*)::int AS n FROM released`.execute(ex.db);
  const released = rows[0]?.n ?? 0;
  if (released > 0) await notifyChange(ex, SERVICES_NOTIFY);
  return released;
}

/**
 * The start gate of a run: records it, only if this instance holds the shard's lease at `epoch` and it
 * has not expired. Returns the run's id, or null (the lease is gone: do not start).
 */
export async function startServiceRun(
  ex: Executor,
  params: { instanceId: string; service: string; shard: number; epoch: number; now?: Date },
): Promise<string | null> {
  const now = dbNow(ex, params.now);
  const { rows } = await sql<{ id: string }>`
    INSERT INTO ${serviceTable(ex, 'service_runs')} (service, shard, instance_id, epoch, started_at)
    SELECT l.service, l.shard, l.holder, l.epoch, ${now} FROM ${serviceTable(ex, 'service_leases')} l
     WHERE l.service = ${params.service} AND l.shard = ${params.shard} AND l.epoch = ${params.epoch}
       AND l.holder = ${params.instanceId}::uuid AND l.expires_at > ${now}
    RETURNING id`.execute(ex.db);
  return rows[0]?.id ?? null;
}

/** Ends a run (a crash, an early return, a stop) unless something already ended it. */
export async function endServiceRun(
  ex: Executor,
  params: { id: string; reason: string; error?: string | null; now?: Date },
): Promise<void> {
  await sql`
    UPDATE ${serviceTable(ex, 'service_runs')}
       SET ended_at = ${dbNow(ex, params.now)}, reason = ${params.reason}, error = ${params.error ?? null}
     WHERE id = ${params.id} AND ended_at IS NULL`.execute(ex.db);
}

export async function readCheckpoint(
  ex: Executor,
  params: { service: string; shard: number },
): Promise<{ value: unknown; epoch: number | null }> {
  const { rows } = await sql<{ checkpoint: unknown; checkpoint_epoch: string | null }>`
    SELECT checkpoint, checkpoint_epoch FROM ${serviceTable(ex, 'service_leases')}
     WHERE service = ${params.service} AND shard = ${params.shard}`.execute(ex.db);
  const row = rows[0];
  return {
    value: row?.checkpoint ?? null,
    epoch: row?.checkpoint_epoch ? Number(row.checkpoint_epoch) : null,
  };
}

/**
 * The fenced write: stores `value` only if this instance holds the lease at `epoch` (no one took the
 * shard since). A refused write is recorded in the history and returns false.
 */
export async function writeCheckpoint(
  ex: Executor,
  params: { instanceId: string; service: string; shard: number; epoch: number; value: unknown; now?: Date },
): Promise<boolean> {
  const now = dbNow(ex, params.now);
  const { rows } = await sql<{ written: boolean }>`
    WITH written AS (
      UPDATE ${serviceTable(ex, 'service_leases')}
         SET checkpoint = ${JSON.stringify(params.value ?? null)}::jsonb, checkpoint_epoch = epoch,
             checkpoint_at = ${now}
       WHERE service = ${params.service} AND shard = ${params.shard} AND epoch = ${params.epoch}
         AND holder = ${params.instanceId}::uuid
      RETURNING 1
    ), refused AS (
      INSERT INTO ${serviceTable(ex, 'service_runs')} (service, shard, instance_id, epoch, started_at, ended_at, reason)
      SELECT ${params.service}, ${params.shard}, ${params.instanceId}::uuid, ${params.epoch}, ${now}, ${now},
             'checkpoint refused'
       WHERE NOT EXISTS (SELECT 1 FROM written)
    )
    SELECT EXISTS (SELECT 1 FROM written) AS written`.execute(ex.db);
  return rows[0]?.written === true;
}

/** Pauses or resumes a service; holders stop and release at once (NOTIFY). False if no such service. */
export async function setServicePaused(
  ex: Executor,
  params: { name: string; paused: boolean },
): Promise<boolean> {
  const { rows } = await sql<{ name: string }>`
    UPDATE ${serviceTable(ex, 'services')} SET paused = ${params.paused}, updated_at = ${dbNow(ex)}
     WHERE name = ${params.name} RETURNING name`.execute(ex.db);
  if (rows.length > 0) await notifyChange(ex, SERVICES_NOTIFY);
  return rows.length > 0;
}

export interface ServiceShardRow {
  service: string;
  shard: number;
  shards: number;
  paused: boolean;
  holder: string | null;
  holderName: string | null;
  epoch: number;
  /** The lease is held and not expired, by database time. */
  held: boolean;
  acquiredAt: Date | null;
  expiresAt: Date | null;
  /** Since the current run started (null when nothing runs). */
  uptimeMs: number | null;
  checkpoint: unknown;
  checkpointAt: Date | null;
  /** Runs under the current epoch beyond the first: restarts after crashes on the same holder. */
  restarts: number;
}

export async function listServiceShards(ex: Executor): Promise<ServiceShardRow[]> {
  const { rows } = await sql<{
    service: string;
    shard: number;
    shards: number;
    paused: boolean;
    holder: string | null;
    name: string | null;
    epoch: string;
    held: boolean;
    acquired_at: Date | null;
    expires_at: Date | null;
    uptime_ms: number | null;
    checkpoint: unknown;
    checkpoint_at: Date | null;
    runs: number;
  }>`
    SELECT l.service, l.shard, s.shards, s.paused, l.holder, i.name, l.epoch,
           (l.holder IS NOT NULL AND l.expires_at > ${dbClock(ex)}) AS held,
           l.acquired_at, l.expires_at, l.checkpoint, l.checkpoint_at,
           (SELECT (extract(epoch FROM ${dbClock(ex)} - max(r.started_at)) * 1000)::float8
              FROM ${serviceTable(ex, 'service_runs')} r
             WHERE r.service = l.service AND r.shard = l.shard AND r.epoch = l.epoch AND r.ended_at IS NULL
               AND r.started_at < coalesce(r.ended_at, 'infinity')) AS uptime_ms,
           (SELECT count(*) FROM ${serviceTable(ex, 'service_runs')} r
             WHERE r.service = l.service AND r.shard = l.shard AND r.epoch = l.epoch
               AND r.reason IS DISTINCT FROM 'checkpoint refused')::int AS runs
      FROM ${serviceTable(ex, 'service_leases')} l
      JOIN ${serviceTable(ex, 'services')} s ON s.name = l.service AND l.shard < s.shards
      LEFT JOIN ${sql.table(`${ex.schema}.instances`)} i ON i.id = l.holder
     ORDER BY l.service, l.shard`.execute(ex.db);
  return rows.map((row) => ({
    service: row.service,
    shard: row.shard,
    shards: row.shards,
    paused: row.paused,
    holder: row.held ? row.holder : null,
    holderName: row.held ? row.name : null,
    epoch: Number(row.epoch),
    held: row.held,
    acquiredAt: row.acquired_at,
    expiresAt: row.expires_at,
    uptimeMs: row.held && row.uptime_ms !== null ? Math.round(row.uptime_ms) : null,
    checkpoint: row.checkpoint,
    checkpointAt: row.checkpoint_at,
    restarts: Math.max(0, row.runs - 1),
  }));
}

export interface ServiceHistoryRow {
  id: string;
  service: string;
  shard: number;
  instance: string;
  instanceName: string | null;
  epoch: number;
  startedAt: Date;
  endedAt: Date | null;
  reason: string;
  error: string | null;
}

/** The service_history view, newest first. */
export async function listServiceHistory(
  ex: Executor,
  params: { service?: string; limit?: number } = {},
): Promise<ServiceHistoryRow[]> {
  const { rows } = await sql<{
    id: string;
    service: string;
    shard: number;
    instance: string;
    instance_name: string | null;
    epoch: string;
    started_at: Date;
    ended_at: Date | null;
    reason: string;
    error: string | null;
  }>`
    SELECT * FROM ${serviceTable(ex, 'service_history')}
     WHERE ${params.service === undefined ? sql`true` : sql`service = ${params.service}`}
     ORDER BY id DESC LIMIT ${params.limit ?? 100}`.execute(ex.db);
  return rows.map((row) => ({
    id: row.id,
    service: row.service,
    shard: row.shard,
    instance: row.instance,
    instanceName: row.instance_name,
    epoch: Number(row.epoch),
    startedAt: row.started_at,
    endedAt: row.ended_at,
    reason: row.reason,
    error: row.error,
  }));
}
