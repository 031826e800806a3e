/** Type tests for the public API: what users write must keep compiling. */
import { describe, expectTypeOf, it, expect } from 'vitest';
import {
  createScheduler,
  PermanentJobError,
  type JobContext,
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
    return scheduler.stop(); // never started: stop is safe and closes the pool
  });
});
