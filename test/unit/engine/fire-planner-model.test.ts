/**
 * Model-based property test of the planner and the misfire policies (issue #10): random interval and
 * cron schedules, outages, policies, fire counts, ends and chunk sizes. The planner is iterated as the
 * acquirer would (planner-driver.ts) and compared with a brute-force model that sees the whole outage
 * at once:
 *   - resumed within the threshold: every fire runs, in order;
 *   - resumed later: every fire scheduled up to the resume is recorded, the policy runs the most recent
 *     ones (none, one, or catchUpMax, and never more than the fire count leaves), the rest are misfired;
 *     fires that come due while the outage is walked run on time.
 * Replanning is checked the same way: a trigger several fires behind when its schedule changes (once or
 * twice before any pass) records exactly the piecewise schedule's times (each old schedule's up to its
 * change, the current one's after the last change).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  planTrigger,
  type MisfirePolicy,
  type PlanLimits,
  type PlanTrigger,
  type SupersededSchedule,
} from '../../../src/engine/fire-planner.js';
import { compileSchedule, type Schedule, type ScheduleSpec } from '../../../src/time/schedule.js';
import { drive } from './planner-driver.js';

const ORIGIN = Date.UTC(2030, 2, 1);

interface Scenario {
  spec: ScheduleSpec;
  policy: MisfirePolicy;
  outageMs: number;
  thresholdMs: number;
  stepMs: number;
  limits: PlanLimits;
  maxFires: number | null;
  endAfterMs: number | null;
}

const specs: fc.Arbitrary<ScheduleSpec> = fc.oneof(
  fc.integer({ min: 50, max: 5_000 }).map((everyMs): ScheduleSpec => ({ kind: 'interval', everyMs })),
  fc
    .constantFrom('* * * * * *', '*/7 * * * * *', '0,15,40 * * * * *', '*/2 * * * *')
    .map((expression): ScheduleSpec => ({ kind: 'cron', expression, timezone: 'UTC' })),
);

const scenarios: fc.Arbitrary<Scenario> = fc.record({
  spec: specs,
  policy: fc.constantFrom<MisfirePolicy>('skip', 'fire-once-now', 'fire-all'),
  outageMs: fc.integer({ min: 0, max: 20 * 60_000 }),
  thresholdMs: fc.integer({ min: 0, max: 120_000 }),
  // The time one acquisition takes; small enough next to the period that the walk converges.
  stepMs: fc.integer({ min: 0, max: 20 }),
  limits: fc.record({
    maxMissedPerPlan: fc.integer({ min: 1, max: 40 }),
    catchUpMax: fc.integer({ min: 0, max: 6 }),
    catchUpSpacingMs: fc.constant(0),
  }),
  maxFires: fc.option(fc.integer({ min: 1, max: 60 }), { nil: null }),
  endAfterMs: fc.option(fc.integer({ min: 0, max: 30 * 60_000 }), { nil: null }),
});

type Outcome = [number, 'run' | 'misfire'];

function model(s: Scenario, schedule: Schedule, first: Date, resumedAt: number, endedAt: number): Outcome[] {
  const endAt = s.endAfterMs === null ? Infinity : ORIGIN + s.endAfterMs;
  const times: number[] = [];
  for (let t: Date | null = first; t && t.getTime() <= endedAt && t.getTime() <= endAt; t = schedule.next(t))
    times.push(t.getTime());
  let left = s.maxFires ?? Infinity;
  const out: Outcome[] = [];
  let rest = times;
  if (times.length > 0 && resumedAt - times[0]! > s.thresholdMs) {
    const outage = times.filter((t) => t <= resumedAt);
    rest = times.filter((t) => t > resumedAt);
    const policyRuns = s.policy === 'skip' ? 0 : s.policy === 'fire-once-now' ? 1 : s.limits.catchUpMax;
    const runs = Math.min(policyRuns, outage.length, left);
    outage.forEach((t, i) => out.push([t, i >= outage.length - runs ? 'run' : 'misfire']));
    left -= runs;
  }
  for (const t of rest) {
    if (left <= 0) break;
    out.push([t, 'run']);
    left -= 1;
  }
  return out;
}

describe('planner against a brute-force model', () => {
  it('records the same runs and misfires over random schedules, outages and policies', () => {
    fc.assert(
      fc.property(scenarios, (s) => {
        const schedule = compileSchedule(s.spec);
        const first = schedule.next(new Date(ORIGIN))!;
        const endAt = s.endAfterMs === null ? null : new Date(ORIGIN + s.endAfterMs);
        if (endAt && first > endAt) return; // nothing to fire
        const resumedAt = first.getTime() + s.outageMs;
        const row: PlanTrigger = {
          nextFireAt: first,
          previousFireAt: null,
          startAt: null,
          timesFired: 0,
          maxFires: s.maxFires,
          endAt,
          misfirePolicy: s.policy,
          misfireThresholdMs: s.thresholdMs,
          replanAt: null,
          misfireUntil: null,
        };
        const result = drive(row, schedule, {
          startAt: new Date(resumedAt),
          stepMs: s.stepMs,
          limits: s.limits,
        });
        const actual: Outcome[] = result.fires.map((f) => [
          f.scheduledAt.getTime(),
          f.kind === 'misfire' ? 'misfire' : 'run',
        ]);
        // The on-time judgment of fires after the outage depends on when each pass happens; keep the
        // walk well inside the threshold so the model's "on time" holds.
        fc.pre(result.endedAt.getTime() - resumedAt < Math.max(s.thresholdMs, 1));
        expect(actual).toEqual(model(s, schedule, first, resumedAt, result.endedAt.getTime()));
      }),
      { numRuns: 400 },
    );
  });
});

describe('replanning against its rule', () => {
  it('rows without superseded schedules (before migration 0007): keeps a due fire, never skips one, never goes back to or before the last recorded fire', () => {
    fc.assert(
      fc.property(
        specs,
        specs,
        fc.integer({ min: 0, max: 10 * 60_000 }),
        fc.integer({ min: 0, max: 10 * 60_000 }),
        fc.integer({ min: 0, max: 5_000 }),
        (oldSpec, newSpec, previousOffsetMs, changeOffsetMs, passDelayMs) => {
          const before = compileSchedule(oldSpec);
          const after = compileSchedule(newSpec);
          const previous = before.next(new Date(ORIGIN + previousOffsetMs))!;
          const next = before.next(previous)!;
          // The change lands anywhere around the stored next fire; the planner takes it in a little later.
          const replanAt = new Date(previous.getTime() + changeOffsetMs);
          const now = new Date(Math.max(replanAt.getTime(), next.getTime() - 20) + passDelayMs);
          const row: PlanTrigger = {
            nextFireAt: next,
            previousFireAt: previous,
            startAt: null,
            timesFired: 0,
            maxFires: null,
            endAt: null,
            misfirePolicy: 'fire-once-now',
            misfireThresholdMs: 86_400_000, // lateness is the outage tests' business
            replanAt,
            misfireUntil: null,
          };
          const plan = planTrigger(row, after, now);
          if (next.getTime() <= replanAt.getTime()) {
            // Already due when the change came: it is recorded (run, being on time) and the new schedule
            // continues after it.
            expect(plan.fires.map((f) => f.scheduledAt)).toEqual([next]);
            expect(plan.nextFireAt).toEqual(after.next(next));
          } else {
            expect(plan.fires).toEqual([]);
            expect(plan.nextFireAt).toEqual(after.next(replanAt));
          }
          expect(plan.nextFireAt!.getTime()).toBeGreaterThan(previous.getTime());
        },
      ),
      { numRuns: 300 },
    );
  });
});

/** Brute force: the times of `schedule` in (fromMs, toMs]. */
function between(schedule: Schedule, fromMs: number, toMs: number): number[] {
  const out: number[] = [];
  for (let t = schedule.next(new Date(fromMs)); t && t.getTime() <= toMs; t = schedule.next(t))
    out.push(t.getTime());
  return out;
}

describe('replanning a trigger several fires behind', () => {
  it('records every superseded schedule time up to its change and the new schedule after the last', () => {
    fc.assert(
      fc.property(
        fc.record({
          oldSpec: specs,
          middleSpec: fc.option(specs, { nil: null }),
          newSpec: specs,
          previousOffsetMs: fc.integer({ min: 0, max: 10 * 60_000 }),
          // How many old-schedule fires were due when the change came (0: the stored one was not).
          behind: fc.integer({ min: 0, max: 8 }),
          changeFraction: fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
          secondChangeAfterMs: fc.integer({ min: 0, max: 10_000 }),
          passDelayMs: fc.integer({ min: 0, max: 5_000 }),
          stepMs: fc.integer({ min: 0, max: 5 }),
        }),
        (s) => {
          const before = compileSchedule(s.oldSpec);
          const after = compileSchedule(s.newSpec);
          const previous = before.next(new Date(ORIGIN + s.previousOffsetMs))!;
          const owed = [previous.getTime()];
          while (owed.length < s.behind + 2)
            owed.push(before.next(new Date(owed[owed.length - 1]!))!.getTime());
          const low = owed[s.behind]!;
          const firstChange = low + Math.floor(s.changeFraction * (owed[s.behind + 1]! - low));
          const superseded: SupersededSchedule[] = [{ schedule: before, until: new Date(firstChange) }];
          let lastChange = firstChange;
          if (s.middleSpec) {
            lastChange = firstChange + s.secondChangeAfterMs;
            superseded.push({ schedule: compileSchedule(s.middleSpec), until: new Date(lastChange) });
          }
          const row: PlanTrigger = {
            nextFireAt: new Date(owed[1]!),
            previousFireAt: previous,
            startAt: null,
            timesFired: 0,
            maxFires: null,
            endAt: null,
            misfirePolicy: 'fire-once-now',
            misfireThresholdMs: 86_400_000, // lateness is the outage tests' business
            replanAt: new Date(firstChange),
            misfireUntil: null,
          };
          const startAt = new Date(Math.max(lastChange, owed[1]! - 20) + s.passDelayMs);
          const result = drive(row, after, {
            startAt,
            stepMs: s.stepMs,
            limits: { maxMissedPerPlan: 500, catchUpMax: 10, catchUpSpacingMs: 0 },
            superseded,
          });
          const endedAt = result.endedAt.getTime();
          const expected = [
            ...between(before, previous.getTime(), firstChange),
            ...(s.middleSpec ? between(superseded[1]!.schedule, firstChange, lastChange) : []),
            ...between(after, lastChange, endedAt),
          ];
          expect(result.fires.map((f) => f.scheduledAt.getTime())).toEqual(expected);
          expect(result.fires.every((f) => f.kind === 'run')).toBe(true);
          expect(result.row.replanAt).toBeNull();
          expect(result.row.nextFireAt).toEqual(after.next(new Date(Math.max(endedAt, lastChange))));
        },
      ),
      { numRuns: 300 },
    );
  });
});
