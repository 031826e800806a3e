/**
 * Replica registry: registration, check-ins judged by database time, check-out, and the identity guard.
 *
 * An instance id is a fencing token (architecture invariant 7). A registration is never revived: once the
 * leader has declared an instance dead, a replica that comes back registers again under a new id, and
 * every write made under the old id is refused by `liveInstanceGuard`. The guard locks the instance row
 * FOR SHARE, which conflicts with the leader's declare-dead UPDATE: a claim or completion either commits
 * before the instance is declared dead (and the leader's recovery, in the same transaction as the
 * declaration, then sees it) or sees the instance dead and writes nothing. There is no third order.
 */
import { sql, type RawBuilder, type Selectable } from 'kysely';
import { BelfryError } from '../errors/belfry-error.js';
import { camelRow } from './camel-row.js';
import { dbClock, dbNow, table, type Executor } from './executor.js';
import type { InstancesTable } from './tables.js';

/** A write under an instance id that is no longer active (declared dead, or checked out) was refused. */
export class InstanceFencedError extends BelfryError {
  readonly instanceId: string;

  constructor(instanceId: string) {
    super(
      'BELFRY_ERR_INSTANCE_FENCED',
      `instance ${instanceId} is no longer active: it was declared dead or checked out`,
    );
    this.instanceId = instanceId;
  }
}

/**
 * The body of a `WITH alive AS MATERIALIZED (...)` clause: the caller's instance row if it is active,
 * locked FOR SHARE until the end of the transaction. A guarded write joins on it (`EXISTS (SELECT 1 FROM
 * alive)`) so that it changes nothing unless the instance is alive.
 */
export function liveInstanceGuard(ex: Executor, params: { instanceId: string }): RawBuilder<unknown> {
  return sql`SELECT id FROM ${table(ex, 'instances')}
              WHERE id = ${params.instanceId}::uuid AND state = 'active' FOR SHARE`;
}

export interface InstanceRegistration {
  id: string;
  name: string;
  host: string;
  pid: number;
  version: string;
  lockKey: number;
}

/** A fresh key for the instance's session advisory lock (taken before the row exists). */
export async function nextInstanceLockKey(ex: Executor): Promise<number> {
  const { rows } = await sql<{
    key: number;
  }>`SELECT nextval(${`${ex.schema}.instance_lock_key`}::regclass)::int AS key`.execute(ex.db);
  return rows[0]!.key;
}

export async function registerInstance(
  ex: Executor,
  params: InstanceRegistration & { now?: Date },
): Promise<void> {
  await ex.db
    .insertInto('instances')
    .values({
      id: params.id,
      name: params.name,
      host: params.host,
      pid: params.pid,
      version: params.version,
      lock_key: params.lockKey,
      started_at: dbNow(ex, params.now),
      last_checkin_at: dbNow(ex, params.now),
      state: 'active',
    })
    .execute();
}

/** Returns false when the instance is no longer active (the leader declared it dead): it must re-register. */
export async function checkInInstance(ex: Executor, params: { id: string; now?: Date }): Promise<boolean> {
  const result = await updateActiveInstance(ex, params.id)
    .set({ last_checkin_at: dbNow(ex, params.now) })
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

export async function checkOutInstance(ex: Executor, params: { id: string; now?: Date }): Promise<void> {
  await updateActiveInstance(ex, params.id)
    .set({ state: 'stopped', stopped_at: dbNow(ex, params.now) })
    .execute();
}

/** An update of the instance's row that applies only while it is active: a registration is never revived. */
function updateActiveInstance(ex: Executor, id: string) {
  return ex.db.updateTable('instances').where('id', '=', id).where('state', '=', 'active');
}

export interface InstanceRow {
  id: string;
  name: string;
  host: string;
  pid: number;
  version: string;
  state: string;
  startedAt: Date;
  lastCheckinAt: Date;
  checkinAgeMs: number;
  isLeader: boolean;
  deadReason: string | null;
}

export async function listInstances(
  ex: Executor,
  params: { includeGone?: boolean } = {},
): Promise<InstanceRow[]> {
  type Row = Pick<
    Selectable<InstancesTable>,
    'id' | 'name' | 'host' | 'pid' | 'version' | 'state' | 'started_at' | 'last_checkin_at' | 'dead_reason'
  > & { age_ms: number; is_leader: boolean };
  const { rows } = await sql<Row>`
    SELECT i.id, i.name, i.host, i.pid, i.version, i.state, i.started_at, i.last_checkin_at, i.dead_reason,
           (extract(epoch FROM ${dbClock(ex)} - i.last_checkin_at) * 1000)::float8 AS age_ms,
           (l.holder = i.id AND l.expires_at > ${dbClock(ex)}) IS TRUE AS is_leader
      FROM ${table(ex, 'instances')} i CROSS JOIN ${table(ex, 'leader')} l
     WHERE ${params.includeGone ? sql`true` : sql`i.state = 'active'`}
     ORDER BY i.started_at`.execute(ex.db);
  return rows.map(({ age_ms, ...columns }) => ({ ...camelRow(columns), checkinAgeMs: Math.round(age_ms) }));
}
