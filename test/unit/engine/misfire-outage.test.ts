/**
 * The misfire policy is decided once per outage (issue #10, item 2): however many chunks the walk
 * through a long outage takes, skip runs none of its fires, fire-once-now exactly one, fire-all at most
 * catchUpMax, and every missed period is recorded.
 */
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_PLAN_LIMITS,
  type MisfirePolicy,
  type PlanTrigger,
} from '../../../src/engine/fire-planner.js';
import { compileSchedule } from '../../../src/time/schedule.js';
import { drive } from './planner-driver.js';

const everySecond = compileSchedule({ kind: 'interval', everyMs: 1000 });
const at = (s: number) => new Date(Date.UTC(2030, 0, 1) + s * 1000);
const trigger = (misfirePolicy: MisfirePolicy): PlanTrigger => ({
  nextFireAt: at(0),
  previousFireAt: at(-1),
  startAt: null,
  timesFired: 0,
  maxFires: null,
  endAt: null,
  misfirePolicy,
  misfireThresholdMs: 30_000,
  replanAt: null,
  misfireUntil: null,
});
const expectedRuns: Record<MisfirePolicy, (missed: number) => number> = {
  skip: () => 0,
  'fire-once-now': () => 1,
  'fire-all': (missed) => Math.min(DEFAULT_PLAN_LIMITS.catchUpMax, missed),
};

describe.each([499, 500, 501, 5_000])('an outage of %i missed periods', (missed) => {
  // Resumed half a second after the last missed fire: fires at(0) .. at(missed - 1) were missed.
  const resumedAt = new Date(at(missed - 1).getTime() + 500);

  it.each(['skip', 'fire-once-now', 'fire-all'] as const)(
    '%s: one decision for the whole outage',
    (policy) => {
      const { fires, row, passes } = drive(trigger(policy), everySecond, {
        startAt: resumedAt,
        limits: DEFAULT_PLAN_LIMITS,
      });
      // Every missed period is recorded, once, in order.
      expect(fires.map((f) => f.scheduledAt.getTime())).toEqual(
        Array.from({ length: missed }, (_, i) => at(i).getTime()),
      );
      const ran = fires.filter((f) => f.kind !== 'misfire');
      expect(ran).toHaveLength(expectedRuns[policy](missed));
      // The policy runs the most recent ones.
      expect(ran.map((f) => f.scheduledAt)).toEqual(
        Array.from({ length: ran.length }, (_, i) => at(missed - ran.length + i)),
      );
      if (policy === 'fire-all') expect(ran.every((f) => f.kind === 'catch-up')).toBe(true);
      expect(row.timesFired).toBe(ran.length);
      expect(row.nextFireAt).toEqual(at(missed));
      expect(row.misfireUntil).toBeNull();
      // Bounded transactions: no pass records more than a chunk plus the tail the policy may run.
      expect(passes).toBeGreaterThanOrEqual(Math.floor(missed / (DEFAULT_PLAN_LIMITS.maxMissedPerPlan + 10)));
    },
  );

  it.each(['skip', 'fire-once-now', 'fire-all'] as const)(
    '%s: fires that came due while the outage was walked are judged afresh (on time)',
    (policy) => {
      // Each pass takes half a second of database time: the walk of 5,000 lasts 5 s, and new fires come due.
      const { fires, row, endedAt } = drive(trigger(policy), everySecond, {
        startAt: resumedAt,
        stepMs: 500,
        limits: DEFAULT_PLAN_LIMITS,
      });
      const outage = fires.filter((f) => f.scheduledAt.getTime() <= resumedAt.getTime());
      const after = fires.filter((f) => f.scheduledAt.getTime() > resumedAt.getTime());
      expect(outage).toHaveLength(missed);
      expect(outage.filter((f) => f.kind !== 'misfire')).toHaveLength(expectedRuns[policy](missed));
      expect(after.every((f) => f.kind === 'run')).toBe(true);
      expect(after.map((f) => f.scheduledAt)).toEqual(
        Array.from({ length: after.length }, (_, i) => at(missed + i)),
      );
      if (missed > 500) expect(after.length).toBeGreaterThan(0);
      expect(row.nextFireAt!.getTime()).toBeGreaterThan(endedAt.getTime());
    },
  );
});

describe('an outage with a fire count', () => {
  it('fire-all runs no more than the fires left, and completes the trigger', () => {
    const { fires, row } = drive({ ...trigger('fire-all'), maxFires: 3, timesFired: 1 }, everySecond, {
      startAt: new Date(at(700).getTime() + 500),
      limits: DEFAULT_PLAN_LIMITS,
    });
    expect(fires.filter((f) => f.kind !== 'misfire').map((f) => f.scheduledAt)).toEqual([at(699), at(700)]);
    expect(fires).toHaveLength(701);
    expect(row.nextFireAt).toBeNull();
  });

  it('a small chunk never records the tail the policy may run', () => {
    const { fires } = drive(trigger('fire-all'), everySecond, {
      startAt: new Date(at(40).getTime() + 500),
      limits: { maxMissedPerPlan: 1, catchUpMax: 5, catchUpSpacingMs: 0 },
    });
    expect(fires).toHaveLength(41);
    expect(fires.filter((f) => f.kind === 'catch-up').map((f) => f.scheduledAt)).toEqual([
      at(36),
      at(37),
      at(38),
      at(39),
      at(40),
    ]);
  });
});
