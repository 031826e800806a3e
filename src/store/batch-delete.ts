/**
 * The shape every retention delete shares (retention-store.ts, admin-audit-store.ts): one bounded batch,
 * oldest first, so a leader's retention pass holds its locks briefly and a backlog drains over passes.
 */
import { sql, type RawBuilder } from 'kysely';
import { table, type Executor } from './executor.js';

/**
 * One batch of a prune that deletes rows of a single table: locks at most `limit` rows of `from` that
 * `where` selects (written against `alias`), oldest by `orderBy` first, skipping rows another
 * transaction holds (that writer is still working on them), deletes them and returns how many went.
 */
export async function deleteOldestBatch(
  ex: Executor,
  batch: {
    from: 'triggers' | 'instances' | 'admin_audit';
    alias: string;
    where: RawBuilder<unknown>;
    orderBy: RawBuilder<unknown>;
    limit: number;
  },
): Promise<number> {
  const row = sql.id(batch.alias);
  const { rows } = await sql<{ deleted: string }>`
    WITH doomed AS (
      SELECT ${row}.id
        FROM ${table(ex, batch.from)} ${row}
       WHERE ${batch.where}
       ORDER BY ${batch.orderBy}
       LIMIT ${batch.limit}
         FOR UPDATE OF ${row} SKIP LOCKED
    ), gone AS (
      DELETE FROM ${table(ex, batch.from)} ${row} USING doomed d WHERE ${row}.id = d.id RETURNING 1
    )
    SELECT count(*) AS deleted FROM gone`.execute(ex.db);
  return Number(rows[0]!.deleted);
}
