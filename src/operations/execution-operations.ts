/**
 * Hands-on operations on fires and executions, one path for the library (Scheduler), the admin API and
 * the CLI (docs/continuations.md):
 *
 * - retry EXECUTION_ID: the latest attempt of a fire that failed, timed out, was abandoned or cancelled
 *   gets a next attempt (same fire, so the same idempotency key), pending and due now;
 * - rerun FIRE_ID: the same for a fire whose latest attempt succeeded, recorded as a manual re-run;
 * - cancel EXECUTION_ID: a pending or running attempt is recorded `cancelled` at once, and the replica
 *   that runs it aborts its `ctx.signal` (NOTIFY); a dead replica's attempt is simply marked;
 * - dead letters: list, retry (one, or in bulk by filter: a dry run unless confirmed), discard.
 * Each records who asked (`requested_by`).
 */
import { BelfryError } from '../errors/belfry-error.js';
import { inTransaction, type Executor } from '../store/executor.js';
import {
  cancelExecution as cancelExecutionRow,
  discardDeadLetter as discardDeadLetterRow,
  findExecution,
  insertRequestedAttempt,
  listDeadLetters,
  lockLatestAttempt,
  type DeadLetter,
  type DeadLetterFilter,
  type LatestAttempt,
} from '../store/operation-store.js';
import type { ExecutionStatus } from '../store/tables.js';

export type { DeadLetter, DeadLetterFilter } from '../store/operation-store.js';

export class UnknownExecutionError extends BelfryError {
  constructor(
    readonly kind: 'execution' | 'fire',
    readonly id: string,
  ) {
    super('BELFRY_ERR_UNKNOWN_EXECUTION', `unknown ${kind} ${id}`);
  }
}

export class WrongStateError extends BelfryError {
  constructor(
    message: string,
    readonly status: ExecutionStatus,
  ) {
    super('BELFRY_ERR_WRONG_STATE', message);
  }
}

/** Statuses of a latest attempt that `retry` takes (the fire ended without success). */
export const RETRYABLE_STATUSES: readonly ExecutionStatus[] = [
  'failed',
  'timed_out',
  'abandoned',
  'cancelled',
];

export interface RequestedAttempt {
  fireId: string;
  executionId: string;
  attempt: number;
  job: string;
  trigger: string;
}

const ID = /^[1-9]\d{0,18}$/;

function checkId(kind: 'execution' | 'fire', id: string): void {
  if (!ID.test(id)) throw new UnknownExecutionError(kind, id);
}

async function addAttempt(
  tx: Executor,
  latest: LatestAttempt,
  requested: 'retry' | 'rerun',
  requestedBy: string,
): Promise<RequestedAttempt> {
  const added = await insertRequestedAttempt(tx, { latest, requested, requestedBy });
  return { fireId: latest.fireId, ...added, job: latest.job, trigger: latest.trigger };
}

/**
 * What every operation on an attempt starts with: the id checked, then, in one transaction, the fire's
 * latest attempt locked (an unknown id: UnknownExecutionError) and handed to `act`.
 */
async function withLatestAttempt<T>(
  ex: Executor,
  target: { kind: 'execution' | 'fire'; id: string },
  act: (tx: Executor, latest: LatestAttempt) => Promise<T>,
): Promise<T> {
  const { kind, id } = target;
  checkId(kind, id);
  return inTransaction(ex, async (tx) => {
    const latest = await lockLatestAttempt(tx, kind === 'execution' ? { executionId: id } : { fireId: id });
    if (!latest) throw new UnknownExecutionError(kind, id);
    return act(tx, latest);
  });
}

/** `belfry retry EXECUTION_ID`: the execution must be its fire's latest attempt, and have failed. */
export async function retryExecution(
  ex: Executor,
  params: { executionId: string; requestedBy: string },
): Promise<RequestedAttempt> {
  return withLatestAttempt(ex, { kind: 'execution', id: params.executionId }, async (tx, latest) => {
    if (latest.executionId !== params.executionId) {
      const own = await findExecution(tx, { executionId: params.executionId });
      throw new WrongStateError(
        `execution ${params.executionId} is attempt ${own?.attempt ?? '?'} of fire ${latest.fireId}; its latest attempt is ${latest.executionId} (${latest.status}): retry that one`,
        latest.status,
      );
    }
    if (!RETRYABLE_STATUSES.includes(latest.status))
      throw new WrongStateError(
        latest.status === 'succeeded'
          ? `execution ${params.executionId} succeeded: use rerun ${latest.fireId} to run its fire again`
          : `execution ${params.executionId} is ${latest.status}; retry takes ${RETRYABLE_STATUSES.join(', ')}`,
        latest.status,
      );
    return addAttempt(tx, latest, 'retry', params.requestedBy);
  });
}

/** `belfry rerun FIRE_ID`: the fire's latest attempt must have succeeded. */
export async function rerunFire(
  ex: Executor,
  params: { fireId: string; requestedBy: string },
): Promise<RequestedAttempt> {
  return withLatestAttempt(ex, { kind: 'fire', id: params.fireId }, async (tx, latest) => {
    if (latest.status !== 'succeeded')
      throw new WrongStateError(
        `fire ${params.fireId}'s latest attempt (${latest.executionId}) is ${latest.status}; rerun takes a fire that succeeded${RETRYABLE_STATUSES.includes(latest.status) ? ` (use retry ${latest.executionId})` : ''}`,
        latest.status,
      );
    return addAttempt(tx, latest, 'rerun', params.requestedBy);
  });
}

export interface CancelResult {
  executionId: string;
  /** The status it had: `running` (its replica was told to abort) or `pending`. */
  previous: ExecutionStatus;
  /** The replica it was running on (null when it was pending). */
  instanceId: string | null;
}

/** `belfry cancel EXECUTION_ID`. */
export async function cancelExecution(
  ex: Executor,
  params: { executionId: string; requestedBy: string },
): Promise<CancelResult> {
  checkId('execution', params.executionId);
  const result = await inTransaction(ex, (tx) => cancelExecutionRow(tx, params));
  if (!result) throw new UnknownExecutionError('execution', params.executionId);
  if (!result.cancelled)
    throw new WrongStateError(
      `execution ${params.executionId} is ${result.previous}; only a pending or running attempt can be cancelled`,
      result.previous,
    );
  return { executionId: params.executionId, previous: result.previous, instanceId: result.instanceId };
}

export { listDeadLetters };

/** Retries one dead letter (by fire id). */
export async function retryDeadLetter(
  ex: Executor,
  params: { fireId: string; requestedBy: string },
): Promise<RequestedAttempt> {
  return withLatestAttempt(ex, { kind: 'fire', id: params.fireId }, async (tx, latest) => {
    requireDeadLetter(latest, params.fireId, true);
    return addAttempt(tx, latest, 'retry', params.requestedBy);
  });
}

/** Discards one dead letter (by fire id): it leaves the list and the gauge, and stays in the history. */
export async function discardDeadLetter(
  ex: Executor,
  params: { fireId: string; requestedBy: string },
): Promise<{ fireId: string; discarded: true }> {
  return withLatestAttempt(ex, { kind: 'fire', id: params.fireId }, async (tx, latest) => {
    requireDeadLetter(latest, params.fireId, false);
    await discardDeadLetterRow(tx, { fireId: params.fireId, discardedBy: params.requestedBy });
    return { fireId: params.fireId, discarded: true };
  });
}

function requireDeadLetter(latest: LatestAttempt, fireId: string, discardedToo: boolean): void {
  const failed = latest.status === 'failed' || latest.status === 'timed_out';
  if (!failed || (latest.discarded && !discardedToo))
    throw new WrongStateError(
      `fire ${fireId} is not a dead letter (latest attempt ${latest.executionId} is ${latest.status}${latest.discarded ? ', discarded' : ''})`,
      latest.status,
    );
}

/** Most dead letters one bulk retry takes. */
export const MAX_BULK_RETRY = 1_000;

export interface BulkRetryResult {
  /** False: a dry run (nothing was retried); the list is what a confirmed call would retry. */
  confirmed: boolean;
  matched: DeadLetter[];
  retried: RequestedAttempt[];
}

/**
 * Retries the dead letters a filter matches, at most `limit` (≤ MAX_BULK_RETRY), newest first. Without
 * `confirm` it is a dry run: it lists them and changes nothing. Each retry is its own transaction, so a
 * letter another operator retried meanwhile is skipped, not an error for the rest.
 */
export async function retryDeadLetters(
  ex: Executor,
  params: { filter: DeadLetterFilter; confirm: boolean; requestedBy: string },
): Promise<BulkRetryResult> {
  const limit = Math.min(params.filter.limit, MAX_BULK_RETRY);
  const matched = await listDeadLetters(ex, { ...params.filter, limit });
  if (!params.confirm) return { confirmed: false, matched, retried: [] };
  const retried: RequestedAttempt[] = [];
  for (const letter of matched) {
    try {
      retried.push(await retryDeadLetter(ex, { fireId: letter.fireId, requestedBy: params.requestedBy }));
    } catch (error) {
      if (!(error instanceof WrongStateError)) throw error;
    }
  }
  return { confirmed: true, matched, retried };
}
