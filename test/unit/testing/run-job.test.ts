import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { BelfryError } from '../../../src/errors/belfry-error.js';
import { PermanentJobError, type JobContext } from '../../../src/jobs/job.js';
import { runJob } from '../../../src/testing/run-job.js';

class Greet {
  static schema = z.object({ name: z.string(), times: z.coerce.number().int().positive().default(1) });
  static options = { data: { times: 2 } };
  execute(ctx: JobContext<{ name: string; times: number }>) {
    ctx.logger.info({ name: ctx.data.name }, 'greeting');
    return { greeting: `hello ${ctx.data.name}`.repeat(ctx.data.times), key: ctx.idempotencyKey };
  }
}

class Slow {
  static options = { timeoutMs: 50 };
  aborted: unknown = null;
  async execute(ctx: JobContext) {
    await new Promise<void>((resolve) =>
      ctx.signal.addEventListener('abort', () => resolve(), { once: true }),
    );
    ctx.logger.warn('aborted');
    throw ctx.signal.reason;
  }
}

class Stubborn {
  static options = { timeoutMs: 20, maxAttempts: 3 };
  async execute() {
    await new Promise((resolve) => setTimeout(resolve, 120));
    return 'late';
  }
}

class Boom {
  static options = { maxAttempts: 2 };
  execute(): never {
    throw new Error('boom');
  }
}

class Permanent {
  static options = { maxAttempts: 5 };
  execute(): never {
    throw new PermanentJobError('bad input');
  }
}

describe('runJob', () => {
  it('passes validated data, defaults merged under it, a real context, and captures the logs', async () => {
    const scheduledAt = new Date('2030-01-01T09:00:00Z');
    const run = await runJob(Greet, { data: { name: 'Ada' }, trigger: 'morning', scheduledAt });
    expect(run.status).toBe('succeeded');
    expect(run.result).toEqual({ greeting: 'hello Adahello Ada', key: 'morning@2030-01-01T09:00:00.000Z' });
    expect(run.logs).toEqual([
      expect.objectContaining({
        level: 'info',
        msg: 'greeting',
        name: 'Ada',
        job: 'Greet',
        trigger: 'morning',
      }),
    ]);
    expect(run.willRetry).toBe(false);
  });

  it('rejects data the schema refuses, as permanent, before execute runs', async () => {
    const run = await runJob(Greet, { data: { name: 42 } });
    expect(run.status).toBe('failed');
    expect(run.error).toBeInstanceOf(PermanentJobError);
    expect(String((run.error as Error).message)).toMatch(/name: /);
    expect(run.logs).toEqual([]);
    expect(run.willRetry).toBe(false);
  });

  it('applies the schema transform (coercion) to what the job sees', async () => {
    const run = await runJob(Greet, { data: { name: 'x', times: '3' } });
    expect(run.result).toMatchObject({ greeting: 'hello xhello xhello x' });
  });

  it('times out: aborts the signal, reports timed_out at once with the timeout error', async () => {
    const run = await runJob(Slow);
    expect(run.status).toBe('timed_out');
    expect(run.error).toBeInstanceOf(BelfryError);
    expect((run.error as BelfryError).code).toBe('BELFRY_ERR_JOB_TIMEOUT');
    expect(run.durationMs).toBeGreaterThanOrEqual(45);
    expect(run.durationMs).toBeLessThan(1_000);
    await run.settled;
    expect(run.logs.map((line) => line.msg)).toContain('aborted');
  });

  it('does not wait for a job that ignores its signal, and says a replica would retry it', async () => {
    const run = await runJob(Stubborn);
    expect(run.status).toBe('timed_out');
    expect(run.durationMs).toBeLessThan(100);
    expect(run.willRetry).toBe(true);
    await run.settled;
    expect((await runJob(Stubborn, { timeoutMs: null })).status).toBe('succeeded');
    expect((await runJob(Stubborn, { attempt: 3 })).willRetry).toBe(false);
  });

  it('reports failures with retry as the engine decides them', async () => {
    const failed = await runJob(Boom);
    expect(failed.status).toBe('failed');
    expect((failed.error as Error).message).toBe('boom');
    expect(failed.willRetry).toBe(true);
    expect((await runJob(Boom, { attempt: 2 })).willRetry).toBe(false);
    expect((await runJob(Permanent)).willRetry).toBe(false);
  });

  it('hands a continuation its upstream outcomes', async () => {
    class Next {
      execute(ctx: JobContext) {
        return { from: ctx.upstream?.result, count: ctx.upstreams.length };
      }
    }
    const upstream = {
      fireId: '1',
      job: 'extract',
      trigger: 'nightly',
      scheduledAt: new Date('2030-01-01T00:00:00Z'),
      executionId: '1',
      status: 'succeeded' as const,
      result: { rows: 3 },
    };
    expect((await runJob(Next, { upstreams: [upstream] })).result).toEqual({ from: { rows: 3 }, count: 1 });
    expect((await runJob(Next)).result).toEqual({ from: undefined, count: 0 });
  });

  it('passes an outside abort through to the job', async () => {
    const outside = new AbortController();
    const running = runJob(Slow, { signal: outside.signal, timeoutMs: null });
    outside.abort(new Error('test over'));
    const run = await running;
    expect(run.status).toBe('failed');
    expect((run.error as Error).message).toBe('test over');
  });
});
