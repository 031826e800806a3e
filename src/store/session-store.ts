/**
 * Statements a connection runs about itself rather than about Belfry's tables: the replica session's
 * advisory lock and LISTEN (session-connection.ts holds that one long-lived pg client, outside the pool
 * and outside Kysely, because a pooled connection would lose both), and per-transaction time limits.
 */
import { sql } from 'kysely';
import type pg from 'pg';
import { changeChannel, type Executor } from './executor.js';

export interface SessionLock {
  namespace: number;
  key: number;
}

/** Takes the session-level advisory lock, waiting while another session holds it. */
export async function lockSession(client: pg.ClientBase, lock: SessionLock): Promise<void> {
  await client.query('SELECT pg_advisory_lock($1, $2)', [lock.namespace, lock.key]);
}

/** Frees a session-level advisory lock this session holds (a no-op, with a server warning, if it does not). */
export async function unlockSession(client: pg.ClientBase, lock: SessionLock): Promise<void> {
  await client.query('SELECT pg_advisory_unlock($1, $2)', [lock.namespace, lock.key]);
}

/** LISTENs on the schema's change channel (a channel is an identifier: it cannot be a parameter). */
export async function listenForChanges(client: pg.ClientBase, schema: string): Promise<void> {
  await client.query(`LISTEN ${client.escapeIdentifier(changeChannel(schema))}`);
}

/**
 * Caps every statement, and every lock wait, for the rest of the caller's transaction (SET LOCAL), so a
 * step that must finish soon (resigning at shutdown) fails fast instead of queueing behind a stalled
 * replica's row lock for the pool's default statement timeout.
 */
export async function limitTransactionTime(tx: Executor, timeoutMs: number): Promise<void> {
  const value = `${Math.max(1, Math.round(timeoutMs))}ms`;
  await sql`SELECT set_config('statement_timeout', ${value}, true), set_config('lock_timeout', ${value}, true)`.execute(
    tx.db,
  );
}
