import { describe, expect, it } from 'vitest';
import { countFired, type FiredRow } from '../../../src/testing/history-match.js';
import { TestClock } from '../../../src/testing/test-clock.js';
import { systemClock } from '../../../src/time/clock.js';

describe('TestClock', () => {
  it('reads the system clock plus its offset, which only grows', () => {
    const clock = new TestClock();
    const at = new Date('2030-06-01T00:00:00Z');
    clock.setOffset(clock.offsetFor(at));
    expect(Math.abs(clock.now().getTime() - at.getTime())).toBeLessThan(1_000);
    const offset = clock.offsetMs;
    clock.setOffset(0);
    expect(clock.offsetMs).toBe(offset);
    expect(clock.monotonicMs() - systemClock.monotonicMs()).toBeCloseTo(offset, -2);
  });

  it('wakes a sleep the jump passed, and shortens one it did not pass', async () => {
    const clock = new TestClock();
    let woke = false;
    const day = clock.sleep(86_400_000).then(() => (woke = true));
    clock.setOffset(clock.offsetMs + 86_400_000 - 30);
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(woke).toBe(false);
    const started = performance.now();
    await day; // what was left (30 ms), not the day
    expect(performance.now() - started).toBeLessThan(1_000);
    let passed = false;
    const hour = clock.sleep(3_600_000).then(() => (passed = true));
    clock.setOffset(clock.offsetMs + 3_600_000);
    await hour;
    expect(passed).toBe(true);
  });

  it('ends a sleep early when its signal aborts', async () => {
    const clock = new TestClock();
    const controller = new AbortController();
    const sleeping = clock.sleep(60_000, controller.signal);
    controller.abort();
    await sleeping;
  });
});

describe('countFired (the toHaveFired check)', () => {
  const at = (day: number) => new Date(Date.UTC(2030, 0, day, 2));
  const rows: FiredRow[] = [
    { trigger: 'nightly', job: 'report', status: 'succeeded', scheduledAt: at(1) },
    { trigger: 'nightly', job: 'report', status: 'failed', scheduledAt: at(2) },
    { trigger: 'nightly', job: 'report', status: 'succeeded', scheduledAt: at(2), attempt: 2 },
    { trigger: 'nightly', job: 'report', status: 'misfired', scheduledAt: at(3) },
    { trigger: 'weekly', job: 'report', status: 'succeeded', scheduledAt: at(3) },
  ];

  it('counts first attempts that ran, by trigger, else by job', () => {
    expect(countFired(rows, 'nightly', { times: 2 }).pass).toBe(true);
    expect(countFired(rows, 'nightly', { times: 2, status: 'succeeded' })).toMatchObject({
      pass: false,
      count: 1,
    });
    expect(countFired(rows, 'nightly', { status: 'misfired' }).count).toBe(1);
    expect(countFired(rows, 'report', { times: 3 }).pass).toBe(true);
    expect(countFired(rows, 'nightly', { since: at(2), until: at(3) }).count).toBe(1);
    expect(countFired(rows, 'monthly').pass).toBe(false);
    expect(countFired(rows, 'nightly', { times: 5 }).message).toBe(
      'expected trigger "nightly" to have fired 5 time(s), but it fired 2 time(s)',
    );
  });
});
