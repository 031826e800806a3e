/** Replanning under the lock (issue #10, item 1): a schedule change never skips a due fire nor repeats one. */
import { describe, expect, it } from 'vitest';
import { planTrigger, type PlanTrigger } from '../../../src/engine/fire-planner.js';
import { compileSchedule } from '../../../src/time/schedule.js';

const at = (s: number) => new Date(Date.UTC(2030, 0, 1) + s * 1000);
const everySecond = compileSchedule({ kind: 'interval', everyMs: 1000 });
const everyTen = compileSchedule({ kind: 'interval', everyMs: 10_000 });
const row: PlanTrigger = {
  nextFireAt: at(11),
  previousFireAt: at(10),
  startAt: null,
  timesFired: 5,
  maxFires: null,
  endAt: null,
  misfirePolicy: 'fire-once-now',
  misfireThresholdMs: 30_000,
  replanAt: at(10.5),
  misfireUntil: null,
};

describe('planTrigger with a recorded schedule change', () => {
  it('moves a not-yet-due next fire onto the new schedule, after the change, firing nothing', () => {
    const plan = planTrigger(row, everyTen, at(10.6));
    expect(plan).toEqual({ fires: [], nextFireAt: at(20), fired: 0, misfireUntil: null });
  });

  it('keeps the same next fire when the schedule is unchanged (only end or data changed)', () => {
    expect(planTrigger(row, everySecond, at(10.6)).nextFireAt).toEqual(at(11));
  });

  it('keeps a fire that was already due when the change came, then continues on the new schedule', () => {
    const plan = planTrigger({ ...row, nextFireAt: at(10), previousFireAt: at(9) }, everyTen, at(10.6));
    expect(plan.fires).toEqual([{ scheduledAt: at(10), kind: 'run', delayMs: 0, note: null }]);
    expect(plan.nextFireAt).toEqual(at(20));
  });

  it('judges a kept fire like any other: late past the threshold is a misfire decided now', () => {
    const plan = planTrigger(
      { ...row, nextFireAt: at(10), previousFireAt: at(9), replanAt: at(100), misfirePolicy: 'skip' },
      everySecond,
      at(100.5),
    );
    expect(plan.fires).toHaveLength(91);
    expect(plan.fires.every((f) => f.kind === 'misfire')).toBe(true);
    expect(plan.nextFireAt).toEqual(at(101));
  });

  it('never moves the next fire to or before the last recorded fire (recorded ahead of the change)', () => {
    // The fire-ahead window recorded 12 before the change at 11.99 was taken in.
    const plan = planTrigger(
      { ...row, nextFireAt: at(13), previousFireAt: at(12), replanAt: at(11.99) },
      everySecond,
      at(12),
    );
    expect(plan.nextFireAt).toEqual(at(13));
  });

  it('revives a trigger that had no fire left, and respects start and end', () => {
    expect(planTrigger({ ...row, nextFireAt: null }, everySecond, at(10.6)).nextFireAt).toEqual(at(11));
    expect(planTrigger({ ...row, startAt: at(50) }, everyTen, at(10.6)).nextFireAt).toEqual(at(50));
    expect(planTrigger({ ...row, endAt: at(19) }, everyTen, at(10.6)).nextFireAt).toBeNull();
  });

  it('drops an outage being walked: the kept fire is judged afresh', () => {
    const plan = planTrigger({ ...row, nextFireAt: at(10), misfireUntil: at(10.55) }, everySecond, at(10.6));
    expect(plan.fires).toEqual([{ scheduledAt: at(10), kind: 'run', delayMs: 0, note: null }]);
  });
});
