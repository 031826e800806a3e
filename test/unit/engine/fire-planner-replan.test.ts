/** Replanning under the lock (issue #10, item 1): a schedule change never skips a due fire nor repeats one. */
import { describe, expect, it } from 'vitest';
import {
  piecewise,
  planTrigger,
  type PlanTrigger,
  type SupersededSchedule,
} from '../../../src/engine/fire-planner.js';
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
    expect(plan).toEqual({ fires: [], nextFireAt: at(20), fired: 0, misfireUntil: null, replanAt: null });
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

  it('without superseded schedules, drops an outage being walked: the kept fire is judged afresh', () => {
    const plan = planTrigger({ ...row, nextFireAt: at(10), misfireUntil: at(10.55) }, everySecond, at(10.6));
    expect(plan.fires).toEqual([{ scheduledAt: at(10), kind: 'run', delayMs: 0, note: null }]);
  });
});

describe('planTrigger walking the superseded schedules', () => {
  const threeSeconds = compileSchedule({ kind: 'interval', everyMs: 3_000 });
  // Every second until the change at 15.5, every ten seconds after it.
  const oldUntil15: SupersededSchedule[] = [{ schedule: everySecond, until: at(15.5) }];
  const behind: PlanTrigger = { ...row, nextFireAt: at(11), previousFireAt: at(10), replanAt: at(15.5) };

  it('keeps every time the old schedule owed up to the change, fire by fire, then the new schedule', () => {
    const scheduledTimes: number[] = [];
    let trigger = behind;
    for (let pass = 0; pass < 20 && trigger.nextFireAt && trigger.nextFireAt <= at(16); pass += 1) {
      const plan = planTrigger(trigger, everyTen, at(16), undefined, oldUntil15);
      scheduledTimes.push(...plan.fires.map((f) => (f.scheduledAt.getTime() - at(0).getTime()) / 1000));
      // The replan state stays, at the next fire, while that fire is still an old-schedule time.
      expect(plan.replanAt).toEqual(plan.nextFireAt! <= at(15.5) ? plan.nextFireAt : null);
      trigger = {
        ...trigger,
        nextFireAt: plan.nextFireAt,
        replanAt: plan.replanAt,
        misfireUntil: plan.misfireUntil,
      };
    }
    expect(scheduledTimes).toEqual([11, 12, 13, 14, 15]);
    expect(trigger.nextFireAt).toEqual(at(20));
    expect(trigger.replanAt).toBeNull();
  });

  it('judges the old times and the new ones as one outage when late past the threshold', () => {
    const plan = planTrigger(
      { ...behind, misfireThresholdMs: 1_000 },
      everyTen,
      at(41),
      undefined,
      oldUntil15,
    );
    expect(plan.fires.map((f) => [f.scheduledAt.getTime() - at(0).getTime(), f.kind])).toEqual([
      ...[11, 12, 13, 14, 15, 20, 30].map((s) => [s * 1000, 'misfire']),
      [40_000, 'run'],
    ]);
    expect(plan.nextFireAt).toEqual(at(50));
    expect(plan.replanAt).toBeNull();
  });

  it('drops a stored fire that was not due at the change and follows the piece after it', () => {
    // Two changes: every second until 12.5, every three seconds until 20.5, every ten after.
    const pieces = [
      { schedule: everySecond, until: at(12.5) },
      { schedule: threeSeconds, until: at(20.5) },
    ];
    const plan = planTrigger(
      { ...behind, nextFireAt: at(13), replanAt: at(12.5) },
      everyTen,
      at(30),
      undefined,
      pieces,
    );
    expect(plan.fires).toEqual([]);
    expect(plan.nextFireAt).toEqual(at(15));
    expect(plan.replanAt).toEqual(at(15));
  });

  it('is piecewise: each superseded schedule up to its change, the current one after the last', () => {
    const chain = piecewise(
      [
        { schedule: everySecond, until: at(12.5) },
        { schedule: threeSeconds, until: at(20.5) },
      ],
      everyTen,
    );
    const times: number[] = [];
    for (let t = chain.next(at(9.5)); t && t <= at(45); t = chain.next(t))
      times.push((t.getTime() - at(0).getTime()) / 1000);
    expect(times).toEqual([10, 11, 12, 15, 18, 30, 40]);
  });

  it('never goes back to or before the last recorded fire', () => {
    const plan = planTrigger(
      { ...behind, nextFireAt: null, previousFireAt: at(14), replanAt: at(12) },
      everyTen,
      at(16),
      undefined,
      [{ schedule: everySecond, until: at(15.5) }],
    );
    expect(plan.nextFireAt).toEqual(at(15));
  });
});
