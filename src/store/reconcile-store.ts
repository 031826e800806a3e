/**
 * SQL that reconciling definitions needs beyond definition-store.ts: the lock that serializes applies,
 * and the read-only transaction a dry run plans in.
 *
 * Every replica reconciles the same files at start, often at the same moment; the transaction-level
 * advisory lock makes them take turns, and each re-reads the database after taking it, so the first
 * applies and the others find nothing left to do. The key is negative on purpose: instance session locks
 * use keys >= 1 from `instance_lock_key` and the migration lock uses 0 (lock-keys.ts), so -1 never meets
 * either (and the leader's liveness check on `pg_locks` never mistakes an apply for a live replica).
 */
import { sql } from 'kysely';
import type { Executor } from './executor.js';
import { lockNamespace } from './lock-keys.js';

export const DEFINITIONS_LOCK_KEY = -1;

/** Waits for, then holds until the end of the caller's transaction, the definitions lock. */
export async function lockDefinitions(ex: Executor): Promise<void> {
  if (!ex.db.isTransaction) throw new Error('lockDefinitions must run inside a transaction');
  await sql`SELECT pg_advisory_xact_lock(${lockNamespace(ex.schema)}::int, ${DEFINITIONS_LOCK_KEY}::int)`.execute(
    ex.db,
  );
}

/**
 * Runs `work` in a READ ONLY transaction: what a dry run reads with. PostgreSQL itself then refuses any
 * write (SQLSTATE 25006), so "nothing was changed" holds even if code below changes one day, and the
 * reads see one consistent snapshot.
 */
export function inReadOnlyTransaction<T>(ex: Executor, work: (tx: Executor) => Promise<T>): Promise<T> {
  if (ex.db.isTransaction) throw new Error('inReadOnlyTransaction must start its own transaction');
  return ex.db
    .transaction()
    .setAccessMode('read only')
    .execute((trx) => work({ db: trx, schema: ex.schema }));
}
