import { expect, it } from 'vitest';
import { withinDeadline } from '../../../src/service/deadline.js';
import { systemClock, type Clock } from '../../../src/time/clock.js';

/** A clock whose sleeps end only when the test says so (or when aborted). */
function heldClock(): Clock & { expire: () => void; sleeping: () => number } {
  const waiting = new Set<() => void>();
  return {
    now: systemClock.now,
    monotonicMs: () => 0,
    sleep: (_ms, signal) =>
      new Promise<void>((resolve) => {
        const done = () => {
          waiting.delete(done);
          resolve();
        };
        waiting.add(done);
        signal?.addEventListener('abort', done, { once: true });
      }),
    expire: () => [...waiting].forEach((done) => done()),
    sleeping: () => waiting.size,
  };
}

it("is 'done' when the work ends first, and stops its timer", async () => {
  const clock = heldClock();
  expect(await withinDeadline(clock, 1_000, async () => {})).toBe('done');
  expect(clock.sleeping()).toBe(0);
});

it("is 'done' when the work fails (the step logs its own failures)", async () => {
  const clock = heldClock();
  expect(await withinDeadline(clock, 1_000, () => Promise.reject(new Error('refused')))).toBe('done');
});

it("is 'timed out' when the deadline comes first, without waiting for the work", async () => {
  const clock = heldClock();
  const result = withinDeadline(clock, 1_000, () => new Promise(() => {}));
  clock.expire();
  expect(await result).toBe('timed out');
});
