/**
 * awaitJob, the deadline both the executor pool and the testing kit's runJob wait on a job with.
 */
import { describe, expect, it } from 'vitest';
import { BelfryError } from '../../../src/errors/belfry-error.js';
import { awaitJob } from '../../../src/jobs/job-invocation.js';

const later = <T>(ms: number, value: T): Promise<T> =>
  new Promise((resolve) => setTimeout(() => resolve(value), ms));

describe('awaitJob', () => {
  it("returns the job's result when it comes before the deadline, and without one", async () => {
    const controller = new AbortController();
    expect(await awaitJob(later(5, 42), { timeoutMs: 1_000, controller })).toEqual({
      timedOut: false,
      result: 42,
    });
    expect(await awaitJob(later(5, 'done'), { timeoutMs: null, controller })).toEqual({
      timedOut: false,
      result: 'done',
    });
    expect(controller.signal.aborted).toBe(false);
  });

  it("takes a job's result of 'timeout' for a result, not for its deadline", async () => {
    const controller = new AbortController();
    expect(await awaitJob(Promise.resolve('timeout'), { timeoutMs: 1_000, controller })).toEqual({
      timedOut: false,
      result: 'timeout',
    });
  });

  it("at the deadline aborts the job's signal with BELFRY_ERR_JOB_TIMEOUT and returns that error", async () => {
    const controller = new AbortController();
    const running = later(200, 'too late');
    const settled = await awaitJob(running, { timeoutMs: 10, controller });
    expect(settled.timedOut).toBe(true);
    const error = settled.timedOut ? settled.error : undefined;
    expect(error).toBeInstanceOf(BelfryError);
    expect(error?.code).toBe('BELFRY_ERR_JOB_TIMEOUT');
    expect(error?.message).toBe('timed out after 10 ms');
    expect(controller.signal.reason).toBe(error);
    expect(await running).toBe('too late');
  });

  it("rejects with the job's error when it throws before the deadline", async () => {
    const controller = new AbortController();
    const failure = new Error('boom');
    await expect(awaitJob(Promise.reject(failure), { timeoutMs: 1_000, controller })).rejects.toBe(failure);
    await expect(awaitJob(Promise.reject(failure), { timeoutMs: null, controller })).rejects.toBe(failure);
    expect(controller.signal.aborted).toBe(false);
  });
});
