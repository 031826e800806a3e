/**
 * The fire times a trigger owes over a window, judged against the fires it recorded. Pure.
 *
 * A trigger's schedule may change inside the window (`apply` with a new interval, cron or end). The
 * caller then passes each change with the database-time bracket it happened in (`notBefore`..`notAfter`:
 * `now()` read just before and just after the apply). Around a change the promise is:
 *   - every fire of the old schedule due before the change (scheduled < notBefore) has a fire row: a
 *     schedule change never skips a due fire, however many fires behind the trigger was (the planner
 *     walks the superseded schedule up to the change: docs/decisions/0004-replanning.md). With several
 *     changes, each version's times between its neighbours' changes are required, even when no replica
 *     planned in between;
 *   - every fire of the new schedule after the change has settled (scheduled > notAfter + settleMs) has
 *     one: whether the new next fire is computed from the change, from the last recorded fire or from a
 *     due fire taken late, every later time of the new schedule is owed. `settleMs` only covers the
 *     fire-ahead window (a time just after the change may already be recorded under the old schedule);
 *   - inside [notBefore − acceptBeforeMs, notAfter + settleMs] a fire on either schedule is accepted:
 *     the old schedule's fire-ahead fires, and a due fire taken under the old schedule that then
 *     advances by the new one (whose times may lie before the change when the fire was taken late).
 *     Being accepted is not being required: old times before notBefore are required, as said above.
 * A recorded fire at a time no schedule allows there is `unexpected`; a required time without one is
 * `missing`; a time with several fire rows (which `UNIQUE (trigger_id, scheduled_at)` should make
 * impossible) is `duplicate`.
 *
 * Pauses need no model: the fires missed while paused are recorded as misfires when the trigger resumes,
 * so they still have fire rows (as long as the trigger was resumed before the audit).
 */
import { compileSchedule, type Schedule, type ScheduleSpec } from '../time/schedule.js';

export interface ScheduleVersion {
  spec: ScheduleSpec;
  endAt: Date | null;
}

export interface ScheduleChange {
  /** Database time read just before the change. */
  notBefore: Date;
  /** Database time read just after it committed. */
  notAfter: Date;
  to: ScheduleVersion;
}

export interface FireViolation {
  kind: 'missing' | 'duplicate' | 'unexpected';
  trigger: string;
  scheduledAt: Date;
  count: number;
}

export const DEFAULT_SETTLE_MS = 250;
export const DEFAULT_ACCEPT_BEFORE_MS = 5_000;

export interface ExpectedFiresInput {
  trigger: string;
  initial: ScheduleVersion;
  /** In the order they happened. */
  changes: readonly ScheduleChange[];
  /** Scheduled time (ms) → number of fire rows, for the window. */
  recorded: ReadonlyMap<number, number>;
  window: { since: Date; until: Date };
  settleMs?: number;
  acceptBeforeMs?: number;
}

interface Segment {
  schedule: Schedule;
  endMs: number;
  /** Times in [fromMs, toMs) on this schedule are required. */
  fromMs: number;
  toMs: number;
}

export function judgeExpectedFires(input: ExpectedFiresInput): {
  expected: number;
  violations: FireViolation[];
} {
  const settle = input.settleMs ?? DEFAULT_SETTLE_MS;
  const acceptBefore = input.acceptBeforeMs ?? DEFAULT_ACCEPT_BEFORE_MS;
  const sinceMs = input.window.since.getTime();
  const untilMs = input.window.until.getTime();
  const versions = [input.initial, ...input.changes.map((change) => change.to)].map((version) => ({
    schedule: compileSchedule(version.spec),
    endMs: version.endAt ? version.endAt.getTime() : Infinity,
  }));
  const segments: Segment[] = versions.map((version, i) => ({
    ...version,
    fromMs: i === 0 ? sinceMs : input.changes[i - 1]!.notAfter.getTime() + settle + 1,
    toMs: i === input.changes.length ? untilMs : input.changes[i]!.notBefore.getTime(),
  }));
  // Zones where either neighbour's times are accepted but none is required.
  const zones = input.changes.map((change, i) => ({
    fromMs: change.notBefore.getTime() - acceptBefore,
    toMs: change.notAfter.getTime() + settle,
    versions: [versions[i]!, versions[i + 1]!],
  }));

  const remaining = new Map(input.recorded);
  const violations: FireViolation[] = [];
  let expected = 0;
  for (const segment of segments) {
    const end = Math.min(segment.toMs, untilMs, segment.endMs + 1);
    for (const at of times(segment.schedule, Math.max(segment.fromMs, sinceMs), end)) {
      expected += 1;
      const count = remaining.get(at) ?? 0;
      remaining.delete(at);
      if (count !== 1)
        violations.push({
          kind: count === 0 ? 'missing' : 'duplicate',
          trigger: input.trigger,
          scheduledAt: new Date(at),
          count,
        });
    }
  }
  for (const [at, count] of remaining) {
    const allowed = zones.some(
      (zone) =>
        at >= zone.fromMs &&
        at <= zone.toMs &&
        zone.versions.some((version) => at <= version.endMs && isOn(version.schedule, at)),
    );
    if (!allowed || count !== 1)
      violations.push({
        kind: allowed ? 'duplicate' : 'unexpected',
        trigger: input.trigger,
        scheduledAt: new Date(at),
        count,
      });
  }
  violations.sort((a, b) => a.scheduledAt.getTime() - b.scheduledAt.getTime());
  return { expected, violations };
}

function* times(schedule: Schedule, fromMs: number, toMs: number): Generator<number> {
  for (let at = schedule.next(new Date(fromMs - 1)); at && at.getTime() < toMs; at = schedule.next(at))
    yield at.getTime();
}

function isOn(schedule: Schedule, atMs: number): boolean {
  return schedule.next(new Date(atMs - 1))?.getTime() === atMs;
}
