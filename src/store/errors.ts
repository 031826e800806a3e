/**
 * Driver errors classified by SQLSTATE at the store boundary, never by message text.
 */
import { BelfryError } from '../errors/belfry-error.js';

export type DatabaseErrorKind = 'conflict' | 'retryable' | 'connection' | 'timeout' | 'other';

const RETRYABLE = new Set(['40001', '40P01', '55P03']);
const CONNECTION_CLASSES = ['08', '57'];

export function sqlState(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

export function classifyDatabaseError(error: unknown): DatabaseErrorKind {
  if (error instanceof NoPrimaryError) return 'connection';
  const state = sqlState(error);
  if (state === '23505') return 'conflict';
  if (state && RETRYABLE.has(state)) return 'retryable';
  if (state === '57014') return 'timeout';
  // A server that became a standby under an open connection (a switchover): reconnect to the primary.
  if (state === '25006') return 'connection';
  // A protocol violation is never transient (a pooler refusing a startup parameter, say): fail fast.
  if (state === '08P01') return 'other';
  if (state && CONNECTION_CLASSES.some((prefix) => state.startsWith(prefix))) return 'connection';
  // Errors raised by the driver itself when a socket dies carry node error codes instead of SQLSTATEs.
  const code = (error as { code?: unknown } | null)?.code;
  if (
    typeof code === 'string' &&
    /^(ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|ENOTFOUND|EAI_AGAIN)$/.test(code)
  ) {
    return 'connection';
  }
  if (
    error instanceof Error &&
    /Connection terminated|Client has encountered a connection error|connection timeout/i.test(error.message)
  ) {
    // pg raises these without any code; this is the one place text is matched, and only the driver's own.
    return 'connection';
  }
  return 'other';
}

export class MigrationError extends BelfryError.withCode('BELFRY_ERR_MIGRATION') {}

/** No host of a multi-host URL is a writable primary (or the one chosen became a standby): transient. */
export class NoPrimaryError extends BelfryError.withCode('BELFRY_ERR_NO_PRIMARY') {}
