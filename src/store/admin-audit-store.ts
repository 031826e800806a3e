/**
 * The admin audit trail (migrations/0005_admin_audit.sql): state-changing admin API calls. Written by
 * the API's route layer, in the same transaction as the change when it succeeds; read by
 * `GET /api/v1/audit` and `belfry history --admin`.
 */
import { sql, type Selectable } from 'kysely';
import { deleteOldestBatch } from './batch-delete.js';
import { dbNow, table, type Executor } from './executor.js';
import type { AdminAuditTable } from './tables.js';

export interface AdminAuditRecord {
  actor: string;
  scope: string;
  method: string;
  operation: string;
  path: string;
  /** What the call named and sent (path parameters, body), with payload data redacted. */
  target: Record<string, unknown> | null;
  status: number;
  remoteAddress: string | null;
  userAgent: string | null;
  instanceId: string | null;
}

export interface AdminAuditEntry extends AdminAuditRecord {
  id: string;
  at: Date;
}

export interface AdminAuditFilter {
  actor?: string;
  since?: Date;
  until?: Date;
  limit: number;
}

export async function insertAdminAudit(
  executor: Executor,
  record: AdminAuditRecord & { now?: Date },
): Promise<void> {
  await sql`
    INSERT INTO ${table(executor, 'admin_audit')}
      (at, actor, scope, method, operation, path, target, status, remote_address, user_agent, instance_id)
    VALUES (${dbNow(executor, record.now)}, ${record.actor}, ${record.scope}, ${record.method}, ${record.operation},
            ${record.path}, ${record.target === null ? null : JSON.stringify(record.target)}::jsonb,
            ${record.status}, ${record.remoteAddress}, ${record.userAgent}, ${record.instanceId})
  `.execute(executor.db);
}

/** Newest first. */
export async function queryAdminAudit(
  executor: Executor,
  filter: AdminAuditFilter,
): Promise<AdminAuditEntry[]> {
  const conditions = [sql`true`];
  if (filter.actor !== undefined) conditions.push(sql`actor = ${filter.actor}`);
  if (filter.since !== undefined) conditions.push(sql`at >= ${filter.since}`);
  if (filter.until !== undefined) conditions.push(sql`at < ${filter.until}`);
  const { rows } = await sql<Selectable<AdminAuditTable>>`
    SELECT id::text AS id, at, actor, scope, method, operation, path, target, status, remote_address,
           user_agent, instance_id
      FROM ${table(executor, 'admin_audit')}
     WHERE ${sql.join(conditions, sql` AND `)}
     ORDER BY at DESC, id DESC
     LIMIT ${filter.limit}
  `.execute(executor.db);
  return rows.map((row) => ({
    id: row.id,
    at: row.at,
    actor: row.actor,
    scope: row.scope,
    method: row.method,
    operation: row.operation,
    path: row.path,
    target: row.target,
    status: row.status,
    remoteAddress: row.remote_address,
    userAgent: row.user_agent,
    instanceId: row.instance_id,
  }));
}

/**
 * Deletes at most `limit` audit rows older than the retention window (by the database clock), oldest
 * first; for the leader's retention pass, inside its lease-checked transaction like the history's.
 */
export async function pruneAdminAudit(
  executor: Executor,
  params: { retentionMs: number; limit: number; now?: Date },
): Promise<number> {
  return deleteOldestBatch(executor, {
    from: 'admin_audit',
    alias: 'a',
    where: sql`a.at < ${dbNow(executor, params.now)} - ${params.retentionMs} * interval '1 millisecond'`,
    orderBy: sql`a.at`,
    limit: params.limit,
  });
}
