/**
 * What a job is: a class with `execute(ctx)`. Everything a run needs arrives in the context.
 */
import type { Logger } from 'pino';
import type { ZodType } from 'zod';
import { BelfryError } from '../errors/belfry-error.js';
import type { UpstreamOutcome } from '../store/execution-store.js';

export type { UpstreamOutcome } from '../store/execution-store.js';

export interface FireInfo {
  /** The trigger that fired (a generated name for fireNow/scheduleAt one-offs). */
  trigger: string;
  group: string;
  /** When the schedule said to fire. */
  scheduledAt: Date;
  /** When a replica recorded the fire (database time). */
  firedAt: Date;
  /** 1 for the first run; retries and recoveries count up. */
  attempt: number;
  fireId: string;
  executionId: string;
}

export interface JobContext<Data = Record<string, unknown>> {
  readonly job: string;
  readonly data: Data;
  readonly fire: FireInfo;
  /**
   * Stable across retries and recoveries of the same fire: derived from (trigger, scheduled time).
   * Pass it to the systems you call so that an at-least-once re-run does no harm twice.
   */
  readonly idempotencyKey: string;
  /** Aborted at the job's timeout, at the shutdown deadline, and by `belfry cancel`. */
  readonly signal: AbortSignal;
  readonly logger: Logger;
  /**
   * For a continuation (a trigger with `after: { job }`): the upstream fire whose outcome fired it, with
   * its status and the JSON its `execute` returned (`result`). For a fan-in, the upstream that completed
   * the set (all of them are in `upstreams`). Null for any other fire.
   */
  readonly upstream: UpstreamOutcome | null;
  /** Every upstream of a continuation or fan-in, in the order they finished; empty otherwise. */
  readonly upstreams: readonly UpstreamOutcome[];
}

export interface Job<Data = Record<string, unknown>> {
  execute(ctx: JobContext<Data>): unknown;
}

export interface JobOptions {
  /** `forbid`: a fire that finds an execution of this job still running anywhere is recorded as skipped. */
  concurrency?: 'allow' | 'forbid';
  /** Abort the signal and record `timed_out` after this many ms. */
  timeoutMs?: number;
  /** Attempts in all (1 = no retry). */
  maxAttempts?: number;
  backoff?: { initialMs?: number; maxMs?: number; factor?: number };
  /** When the replica running it dies: true re-dispatches it (at-least-once), false abandons it (at-most-once). */
  recover?: boolean;
  description?: string;
  /** Defaults merged under every trigger's data. */
  data?: Record<string, unknown>;
}

export interface JobClass<Data = Record<string, unknown>> {
  new (): Job<Data>;
  /** Validates (and may transform) the data before `execute` sees it. */
  schema?: ZodType<Data>;
  /** Defaults for options not given at registration or in YAML. */
  options?: JobOptions;
}

export function idempotencyKey(trigger: string, scheduledAt: Date): string {
  return `${trigger}@${scheduledAt.toISOString()}`;
}

/** Thrown by a job to fail without further retries (bad input, say). */
export class PermanentJobError extends BelfryError {
  constructor(message = '', options?: ErrorOptions) {
    super('BELFRY_ERR_PERMANENT', message, options);
  }
}
