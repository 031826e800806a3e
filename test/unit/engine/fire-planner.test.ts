import { describe, expect, it } from 'vitest';
import { planTrigger, type PlanTrigger } from '../../../src/engine/fire-planner.js';
import { compileSchedule } from '../../../src/time/schedule.js';

const everySecond = compileSchedule({ kind: 'interval', everyMs: 1000 });
const at = (s: number) => new Date(Date.UTC(2030, 0, 1, 0, 0, s));
const base: PlanTrigger = {
  nextFireAt: at(10),
  previousFireAt: null,
  startAt: null,
  replanAt: null,
  misfireUntil: null,
  timesFired: 0,
  maxFires: null,
  endAt: null,
  misfirePolicy: 'fire-once-now',
  misfireThresholdMs: 5_000,
};

describe('planTrigger on time', () => {
  it('runs the due fire and advances from the scheduled time, not from now', () => {
    const plan = planTrigger(base, everySecond, new Date(at(10).getTime() + 1_500));
    expect(plan.fires).toEqual([{ scheduledAt: at(10), kind: 'run', delayMs: 0, note: null }]);
    expect(plan.nextFireAt).toEqual(at(11)); // still due: the acquirer picks it again at once
    expect(plan.fired).toBe(1);
  });

  it('completes at maxFires and at endAt', () => {
    expect(planTrigger({ ...base, maxFires: 3, timesFired: 2 }, everySecond, at(10)).nextFireAt).toBeNull();
    expect(planTrigger({ ...base, maxFires: 3, timesFired: 3 }, everySecond, at(10)).fires).toEqual([]);
    expect(planTrigger({ ...base, endAt: at(10) }, everySecond, at(10)).nextFireAt).toBeNull();
    expect(planTrigger({ ...base, endAt: at(11) }, everySecond, at(10)).nextFireAt).toEqual(at(11));
  });

  it('treats exactly the threshold as on time', () => {
    expect(planTrigger(base, everySecond, new Date(at(10).getTime() + 5_000)).fires[0]!.kind).toBe('run');
    expect(planTrigger(base, everySecond, new Date(at(10).getTime() + 5_001)).fires[0]!.kind).toBe('misfire');
  });
});

describe('planTrigger misfired', () => {
  const now = new Date(at(20).getTime() + 500); // 10.5 s late; missed 10..20 = 11 fires
  it('fire-once-now: records every missed fire, runs the most recent, resumes in the future', () => {
    const plan = planTrigger(base, everySecond, now);
    expect(plan.fires).toHaveLength(11);
    expect(plan.fires.slice(0, 10).every((f) => f.kind === 'misfire')).toBe(true);
    expect(plan.fires[10]).toMatchObject({ scheduledAt: at(20), kind: 'run' });
    expect(plan.nextFireAt).toEqual(at(21));
    expect(plan.fired).toBe(1);
  });

  it('skip: records every missed fire and runs none', () => {
    const plan = planTrigger({ ...base, misfirePolicy: 'skip' }, everySecond, now);
    expect(plan.fires.map((f) => f.kind)).toEqual(Array(11).fill('misfire'));
    expect(plan.nextFireAt).toEqual(at(21));
    expect(plan.fired).toBe(0);
  });

  it('fire-all: runs the most recent catchUpMax, spread out; older ones stay misfired', () => {
    const plan = planTrigger({ ...base, misfirePolicy: 'fire-all' }, everySecond, now, {
      maxMissedPerPlan: 500,
      catchUpMax: 3,
      catchUpSpacingMs: 250,
    });
    expect(plan.fires.filter((f) => f.kind === 'misfire')).toHaveLength(8);
    expect(plan.fires.slice(8)).toEqual([
      { scheduledAt: at(18), kind: 'catch-up', delayMs: 0, note: expect.any(String) },
      { scheduledAt: at(19), kind: 'catch-up', delayMs: 250, note: expect.any(String) },
      { scheduledAt: at(20), kind: 'catch-up', delayMs: 500, note: expect.any(String) },
    ]);
    expect(plan.fired).toBe(3);
  });

  it('walks a long outage in bounded chunks, leaving the trigger due', () => {
    const plan = planTrigger(base, everySecond, now, {
      maxMissedPerPlan: 4,
      catchUpMax: 10,
      catchUpSpacingMs: 0,
    });
    expect(plan.fires.map((f) => f.kind)).toEqual(['misfire', 'misfire', 'misfire', 'misfire']);
    expect(plan.nextFireAt).toEqual(at(14));
    expect(plan.fired).toBe(0);
  });

  it('a misfired one-off fires once now under the default policy', () => {
    const once = compileSchedule({ kind: 'once', at: at(10).toISOString() });
    const plan = planTrigger({ ...base, maxFires: 1 }, once, now);
    expect(plan.fires).toEqual([{ scheduledAt: at(10), kind: 'run', delayMs: 0, note: expect.any(String) }]);
    expect(plan.nextFireAt).toBeNull();
  });

  it('respects maxFires while catching up', () => {
    const plan = planTrigger(
      { ...base, misfirePolicy: 'fire-all', maxFires: 5, timesFired: 3 },
      everySecond,
      now,
    );
    expect(plan.fires.filter((f) => f.kind === 'catch-up')).toHaveLength(2);
    expect(plan.nextFireAt).toBeNull();
  });
});
