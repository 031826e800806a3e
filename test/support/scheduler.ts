/** Builds schedulers on a test schema and waits on their events (never on sleeps). */
import type { BelfryDatabase } from '../../src/store/database.js';
import { createScheduler, type Scheduler, type SchedulerOptions } from '../../src/scheduler.js';
import type { SchedulerEventName, SchedulerEvents } from '../../src/events/scheduler-events.js';

export function testScheduler(database: BelfryDatabase, options: Partial<SchedulerOptions> = {}): Scheduler {
  return createScheduler({
    database,
    migrate: false,
    maxIdleMs: 2_000,
    shutdownTimeoutMs: 5_000,
    timings: {
      heartbeatIntervalMs: 500,
      leaseTtlMs: 2_000,
      sessionGraceMs: 300,
      deadAfterMs: 3_000,
      recoveryIntervalMs: 300,
    },
    ...options,
  });
}

/** Resolves after `count` events matching `predicate`, or rejects after `timeoutMs`. */
export function waitForEvents<E extends SchedulerEventName>(
  schedulers: Scheduler | Scheduler[],
  event: E,
  count: number,
  predicate: (payload: SchedulerEvents[E]) => boolean = () => true,
  timeoutMs = 20_000,
): Promise<SchedulerEvents[E][]> {
  const list = Array.isArray(schedulers) ? schedulers : [schedulers];
  return new Promise((resolve, reject) => {
    const seen: SchedulerEvents[E][] = [];
    const offs = list.map((scheduler) =>
      scheduler.on(event, (payload) => {
        if (!predicate(payload)) return;
        seen.push(payload);
        if (seen.length >= count) done();
      }),
    );
    const timer = setTimeout(() => {
      offs.forEach((off) => off());
      reject(new Error(`timed out waiting for ${count} ${event} events (saw ${seen.length})`));
    }, timeoutMs);
    function done() {
      clearTimeout(timer);
      offs.forEach((off) => off());
      resolve(seen);
    }
  });
}
