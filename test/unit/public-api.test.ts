/** Type tests for the public API: what users write must keep compiling. */
import { describe, expectTypeOf, it, expect } from 'vitest';
import {
  createScheduler,
  PermanentJobError,
  WrongStateError,
  type BackfillRequest,
  type CancelResult,
  type DeadLetter,
  type JobContext,
  type RequestedAttempt,
  type UpstreamOutcome,
  type Scheduler,
  type SchedulerEvents,
  type TriggerListener,
} from '../../src/index.js';

describe('public API', () => {
  it('types a job class and its registration', () => {
    class Report {
      async execute(ctx: JobContext<{ region: string }>) {
        expectTypeOf(ctx.data.region).toEqualTypeOf<string>();
        expectTypeOf(ctx.idempotencyKey).toEqualTypeOf<string>();
        expectTypeOf(ctx.signal).toEqualTypeOf<AbortSignal>();
        expectTypeOf(ctx.fire.scheduledAt).toEqualTypeOf<Date>();
      }
    }
    const scheduler = createScheduler({ connectionString: 'postgres://localhost/none' });
    expectTypeOf(scheduler).toEqualTypeOf<Scheduler>();
    expectTypeOf(
      scheduler.registerJob('report', Report, { maxAttempts: 3, recover: true }),
    ).toEqualTypeOf<Scheduler>();
    expectTypeOf(scheduler.fireNow).returns.toEqualTypeOf<Promise<string>>();
    expectTypeOf<SchedulerEvents['execution:finished']['status']>().toEqualTypeOf<
      'succeeded' | 'failed' | 'timed_out' | 'abandoned' | 'recovered'
    >();
    const vetoWeekends: TriggerListener = {
      name: 'no-weekends',
      vetoJobExecution: (info) => info.scheduledAt.getUTCDay() % 6 === 0,
    };
    expectTypeOf(
      scheduler.addTriggerListener(vetoWeekends, { group: 'reports*' }),
    ).toEqualTypeOf<Scheduler>();
    expect(new PermanentJobError('x').code).toBe('BELFRY_ERR_PERMANENT');
    // Continuations and operator actions (issue 14).
    expectTypeOf<JobContext['upstream']>().toEqualTypeOf<UpstreamOutcome | null>();
    expectTypeOf(scheduler.retry).returns.toEqualTypeOf<Promise<RequestedAttempt>>();
    expectTypeOf(scheduler.cancel).returns.toEqualTypeOf<Promise<CancelResult>>();
    expectTypeOf(scheduler.deadLetters).returns.toEqualTypeOf<Promise<DeadLetter[]>>();
    expectTypeOf(scheduler.backfill).parameter(0).toEqualTypeOf<BackfillRequest>();
    expect(new WrongStateError('x', 'running').code).toBe('BELFRY_ERR_WRONG_STATE');
    return scheduler.stop(); // never started: stop is safe and closes the pool
  });
});
