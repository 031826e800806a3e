/**
 * Judges misfire policies from the history. Pure.
 *
 * An outage (every replica down, the database down, the trigger paused) is decided once, at the first
 * acquisition that finds the trigger's due fire later than its threshold: that acquisition's database
 * time (`fired_at` of the first missed fire, which it records `misfired`) is the decision time D, and
 * every fire scheduled from that first missed fire up to D belongs to the outage, however many chunks
 * the planner records them in. Of those fires, the policy lets
 *   - skip: none run;
 *   - fire-once-now: exactly one run (at most one when the trigger has a fire count, which may be spent);
 *   - fire-all: at most `catchUpMax` run.
 * A fire "runs" when its first attempt is anything but `misfired` or `skipped`. A `skipped` fire (the
 * job's concurrency forbade it) was let through by the policy but refused by the job: it counts toward
 * fire-once-now's one, not against any upper bound.
 * An outage whose first missed fire lies before the window, or whose decision time lies after it, is
 * judged only for its upper bound, on the fires inside the window.
 */

export type MisfirePolicy = 'skip' | 'fire-once-now' | 'fire-all';

export interface FireDecision {
  scheduledAt: Date;
  /** Database time the fire row was written. */
  firedAt: Date;
  /** Status of the fire's first attempt. */
  firstStatus: string;
}

export interface PolicyTrigger {
  name: string;
  policy: MisfirePolicy;
  counted: boolean;
  fires: readonly FireDecision[];
}

export interface PolicyViolation {
  trigger: string;
  policy: MisfirePolicy;
  /** The first missed fire of the outage and the decision time. */
  outageFrom: Date;
  decidedAt: Date;
  runs: number;
  detail: string;
}

const NOT_RUN = new Set(['misfired', 'skipped']);

export function checkMisfirePolicies(
  triggers: readonly PolicyTrigger[],
  options: { window: { since: Date; until: Date }; catchUpMax: number },
): { outages: number; violations: PolicyViolation[] } {
  const violations: PolicyViolation[] = [];
  let outages = 0;
  for (const trigger of triggers) {
    const fires = [...trigger.fires].sort((a, b) => a.scheduledAt.getTime() - b.scheduledAt.getTime());
    for (let i = 0; i < fires.length;) {
      const first = fires[i]!;
      if (first.firstStatus !== 'misfired') {
        i += 1;
        continue;
      }
      const decidedAt = first.firedAt;
      let runs = 0;
      let letThrough = 0;
      let j = i;
      for (; j < fires.length && fires[j]!.scheduledAt.getTime() <= decidedAt.getTime(); j += 1) {
        const status = fires[j]!.firstStatus;
        if (!NOT_RUN.has(status)) runs += 1;
        if (status !== 'misfired') letThrough += 1;
      }
      outages += 1;
      const whole =
        i > 0 || first.scheduledAt.getTime() >= options.window.since.getTime()
          ? decidedAt.getTime() < options.window.until.getTime()
          : false;
      const problem = judge(trigger, { runs, letThrough, whole }, options.catchUpMax);
      if (problem)
        violations.push({
          trigger: trigger.name,
          policy: trigger.policy,
          outageFrom: first.scheduledAt,
          decidedAt,
          runs,
          detail: problem,
        });
      i = Math.max(j, i + 1);
    }
  }
  return { outages, violations };
}

function judge(
  trigger: PolicyTrigger,
  outage: { runs: number; letThrough: number; whole: boolean },
  catchUpMax: number,
): string | null {
  const { runs, letThrough, whole } = outage;
  if (trigger.policy === 'skip' && runs > 0) return `skip ran ${runs} missed fires`;
  if (trigger.policy === 'fire-all' && runs > catchUpMax)
    return `fire-all ran ${runs} missed fires, more than its cap of ${catchUpMax}`;
  if (trigger.policy === 'fire-once-now') {
    if (runs > 1) return `fire-once-now ran ${runs} missed fires`;
    if (letThrough === 0 && whole && !trigger.counted) return 'fire-once-now ran none of the missed fires';
  }
  return null;
}
