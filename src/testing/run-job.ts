/**
 * `runJob`: one execution of a job class, in this process, with no database and no scheduler.
 *
 * The attempt goes through the same steps a replica's executor pool takes (jobs/job-invocation.ts): the
 * job's zod schema validates (and may transform) the data, the job gets a real `JobContext` (a pino logger
 * whose lines are captured, an AbortSignal, the idempotency key of (trigger, scheduled time)), and the
 * job's timeout aborts the signal and records `timed_out` at once. The status words are job_history's.
 *
 * A timed-out job that ignores its signal keeps running after `runJob` returns, as it would keep its slot
 * on a replica: await `settled` to wait for it.
 */
import pino, { type Logger } from 'pino';
import { awaitJob, buildJobContext, parseJobData, startJob } from '../jobs/job-invocation.js';
import { PermanentJobError, type JobClass, type UpstreamOutcome } from '../jobs/job.js';
import { systemClock, type Clock } from '../time/clock.js';

export interface RunJobOptions<Data> {
  /** The trigger's data; the job's `options.data` defaults are merged under it, as the engine does. */
  data?: Partial<Data> | Record<string, unknown>;
  /** The trigger name the context carries (default `test`); the idempotency key derives from it. */
  trigger?: string;
  group?: string;
  /** The job name (default: the class's name). */
  job?: string;
  /** Default: the clock's now. */
  scheduledAt?: Date;
  /** 1 for the first run (default); retries count up. */
  attempt?: number;
  /** Overrides the job's `options.timeoutMs`; null runs without a timeout. */
  timeoutMs?: number | null;
  /** Aborting it aborts the job's signal (the reason passes through). */
  signal?: AbortSignal;
  /** Default the system clock; `firedAt` and the duration are read from it. */
  clock?: Clock;
  /** For a continuation: the upstream outcomes `ctx.upstream` / `ctx.upstreams` carry (last = `upstream`). */
  upstreams?: readonly UpstreamOutcome[];
}

/** One captured log line: pino's fields, with `level` as its label. */
export interface CapturedLog {
  level: string;
  msg?: string;
  [field: string]: unknown;
}

export interface RunJobResult {
  /** As in job_history. */
  status: 'succeeded' | 'failed' | 'timed_out';
  /** What `execute` returned (undefined unless succeeded). */
  result: unknown;
  /** What it threw, the schema rejection (a PermanentJobError), or the timeout (BELFRY_ERR_JOB_TIMEOUT). */
  error: unknown;
  logs: CapturedLog[];
  durationMs: number;
  /** Whether a replica would retry this attempt (not succeeded, not permanent, attempts left). */
  willRetry: boolean;
  /** Resolves when the job's own promise has settled (later than the result after a timeout). */
  settled: Promise<void>;
}

export async function runJob<Data>(
  jobClass: JobClass<Data>,
  options: RunJobOptions<Data> = {},
): Promise<RunJobResult> {
  const clock = options.clock ?? systemClock;
  const logs: CapturedLog[] = [];
  const logger = captureLogger(logs);
  const controller = new AbortController();
  const onAbort = () => controller.abort(options.signal?.reason);
  if (options.signal?.aborted) onAbort();
  else options.signal?.addEventListener('abort', onAbort, { once: true });
  const timeoutMs =
    options.timeoutMs === undefined ? (jobClass.options?.timeoutMs ?? null) : options.timeoutMs;
  const attempt = options.attempt ?? 1;
  const startedMs = clock.monotonicMs();
  const job = options.job ?? jobClass.name;
  const trigger = options.trigger ?? 'test';
  let settled: Promise<void> = Promise.resolve();
  const outcome = (status: RunJobResult['status'], result: unknown, error: unknown): RunJobResult => ({
    status,
    result,
    error,
    logs,
    durationMs: Math.round(clock.monotonicMs() - startedMs),
    willRetry:
      status !== 'succeeded' &&
      !(error instanceof PermanentJobError) &&
      attempt < (jobClass.options?.maxAttempts ?? 1),
    settled,
  });
  try {
    const ctx = buildJobContext({
      job,
      data: parseJobData(jobClass as JobClass<unknown>, { ...jobClass.options?.data, ...options.data }),
      fire: {
        trigger,
        group: options.group ?? 'default',
        scheduledAt: options.scheduledAt ?? clock.now(),
        firedAt: clock.now(),
        attempt,
        fireId: 'test-fire',
        executionId: 'test-execution',
      },
      signal: controller.signal,
      logger: logger.child({ job, trigger, attempt }),
      upstreams: options.upstreams,
    });
    const running = startJob(new jobClass() as never, ctx);
    settled = running.then(
      () => undefined,
      () => undefined,
    );
    const first = await awaitJob(running, { timeoutMs, controller });
    if (first.timedOut) return outcome('timed_out', undefined, first.error);
    return outcome('succeeded', first.result, undefined);
  } catch (error) {
    return outcome('failed', undefined, error);
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
  }
}

/** A pino logger at `trace` whose lines land in `logs`, parsed. */
function captureLogger(logs: CapturedLog[]): Logger {
  return pino(
    { level: 'trace', base: undefined, formatters: { level: (label) => ({ level: label }) } },
    { write: (line: string) => void logs.push(JSON.parse(line) as CapturedLog) },
  );
}
