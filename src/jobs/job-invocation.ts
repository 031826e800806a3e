/**
 * The steps of one job attempt that do not depend on where it runs: validate the data with the job's
 * schema, build the `JobContext`, call `execute`, and wait for it within its timeout. The executor pool (engine/executor-pool.ts) and the
 * testing kit's `runJob` (testing/run-job.ts) both use these, so a job tested with `runJob` sees exactly
 * the context and the schema handling a replica gives it.
 */
import type { Logger } from 'pino';
import { BelfryError } from '../errors/belfry-error.js';
import {
  idempotencyKey,
  PermanentJobError,
  type FireInfo,
  type Job,
  type JobClass,
  type JobContext,
  type UpstreamOutcome,
} from './job.js';

/**
 * The data as the job's schema returns it (validated, maybe transformed); the data itself without a
 * schema. Rejected data throws a `PermanentJobError` (no retry can fix it) naming every issue.
 */
export function parseJobData(jobClass: Pick<JobClass<unknown>, 'schema'>, data: unknown): unknown {
  if (!jobClass.schema) return data;
  const parsed = jobClass.schema.safeParse(data);
  if (parsed.success) return parsed.data;
  throw new PermanentJobError(
    `data rejected by the job's schema: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`,
  );
}

export interface JobContextInput {
  job: string;
  /** The data after `parseJobData`. */
  data: unknown;
  fire: FireInfo;
  signal: AbortSignal;
  /** The job's logger, or how to make it: built on first use (a pino child costs ~4 µs, and most jobs never log). */
  logger: Logger | (() => Logger);
  /** A continuation's upstreams (default none). */
  upstreams?: readonly UpstreamOutcome[];
}

/** The context `execute` receives; the idempotency key is derived from (trigger, scheduled time). */
export function buildJobContext(input: JobContextInput): JobContext<never> {
  const makeLogger = input.logger;
  let logger = typeof makeLogger === 'function' ? undefined : makeLogger;
  return {
    job: input.job,
    data: input.data as never,
    fire: { ...input.fire },
    idempotencyKey: idempotencyKey(input.fire.trigger, input.fire.scheduledAt),
    signal: input.signal,
    get logger() {
      return (logger ??= (makeLogger as () => Logger)());
    },
    upstream: input.upstreams?.at(-1) ?? null,
    upstreams: input.upstreams ?? [],
  };
}

/** Calls `execute`; a synchronous throw becomes a rejection, a plain value a resolved promise. */
export function startJob(instance: Job<never>, ctx: JobContext<never>): Promise<unknown> {
  try {
    return Promise.resolve(instance.execute(ctx));
  } catch (thrown) {
    return Promise.reject(thrown);
  }
}

/** What `awaitJob` saw first: the job's result, or its deadline (the job may still be running). */
export type JobSettlement = { timedOut: false; result: unknown } | { timedOut: true; error: BelfryError };

const DEADLINE = Symbol('deadline');

/**
 * Waits for a started job for at most `timeoutMs` (null: as long as it takes). At the deadline the job's
 * signal is aborted with a BELFRY_ERR_JOB_TIMEOUT error, which is returned; the job may go on until it
 * heeds the signal (`running` tells when). A job that throws first rejects this promise.
 */
export async function awaitJob(
  running: Promise<unknown>,
  params: { timeoutMs: number | null; controller: AbortController },
): Promise<JobSettlement> {
  const { timeoutMs, controller } = params;
  if (timeoutMs === null) return { timedOut: false, result: await running };
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<typeof DEADLINE>((resolve) => {
    timer = setTimeout(() => resolve(DEADLINE), timeoutMs);
  });
  try {
    const first = await Promise.race([running, deadline]);
    if (first !== DEADLINE) return { timedOut: false, result: first };
  } finally {
    clearTimeout(timer);
  }
  const error = new BelfryError('BELFRY_ERR_JOB_TIMEOUT', `timed out after ${timeoutMs} ms`);
  controller.abort(error);
  return { timedOut: true, error };
}
