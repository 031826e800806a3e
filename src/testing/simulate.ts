/**
 * `simulate`: every fire a set of definitions would produce over a window, with no database.
 *
 * It runs the engine's own decisions, not a copy: the first fire is `firstFireAt` (what `apply` stores),
 * each pass is `planTrigger` (engine/fire-planner.ts, what the acquirer calls under the row lock), and
 * schedules are `compileSchedule` with the definitions' calendars. What the engine takes from the
 * database is modelled the way the engine meets it:
 *   - "now" at each pass is the fire's due time while the cluster is up (a replica acquires a trigger
 *     when it comes due); a fire that comes due while every replica is down is acquired when the first
 *     one is back, with "now" the end of the outage, so the trigger's misfire threshold and policy decide
 *     exactly as in production;
 *   - a trigger is planned again at once while it is still due (the acquirer's "still due" pass), so a
 *     long outage is walked in the planner's chunks and decided once.
 * Each fire carries what the calendar did on the way to it (skipped days, a move off an excluded day),
 * as `belfry next` shows it, and the DST decisions of the window are listed (dst-decisions.ts).
 *
 * Not modelled: job durations (so `concurrency: forbid` skips, retries and timeouts, which depend on
 * them), vetoes by listeners, and pauses or applies inside the window.
 */
import { firstFireAt } from '../config/definition-reconciler.js';
import { definitionsCalendarResolver, type TriggerDefinition } from '../config/definitions.js';
import {
  DEFAULT_PLAN_LIMITS,
  planTrigger,
  type MisfirePolicy,
  type PlanLimits,
  type PlanTrigger,
  type PlannedFire,
} from '../engine/fire-planner.js';
import type { CalendarResolver } from '../time/calendar.js';
import type { FireDetail } from '../time/excluded-day-policy.js';
import { previewFireOf, type PreviewFire } from '../time/preview.js';
import { compileSchedule, type Schedule, type ScheduleSpec } from '../time/schedule.js';
import { ZoneRules } from '../time/zone-rules.js';
import { loadDefinitionsInput, type DefinitionsInput, type LoadInputOptions } from './definitions-input.js';
import { dstDecisions, type DstDecision } from './dst-decisions.js';

export type { DstDecision } from './dst-decisions.js';

/**
 * A time the cluster (or some replicas, by index from 0) was down: strictly between `from` and `to`. A
 * fire due at `from` still fired (the cluster went down after it, as `cluster.outage()` does), and one
 * due at `to` fires on time.
 */
export interface Outage {
  from: Date | string;
  to: Date | string;
  /** The replicas down (indexes from 0); default all. The cluster is down only while all are. */
  replicas?: readonly number[];
}

export interface SimulateOptions extends LoadInputOptions {
  /** Exclusive start: the definitions are applied at this instant. */
  from: Date | string;
  /** Inclusive end. */
  to: Date | string;
  /** How many replicas run (default 1): matters for outages that name replicas. */
  replicas?: number;
  outages?: readonly Outage[];
  /** The scheduler's plan limits, when it is given others (fire-all's cap and spacing). */
  planLimits?: PlanLimits;
}

export interface SimulatedFire extends Pick<PreviewFire, 'movedFrom' | 'skipped'> {
  trigger: string;
  group: string;
  job: string;
  scheduledAt: Date;
  /** The scheduled time in the trigger's zone, with its offset. */
  local: string;
  /**
   * fired: on time; fired-late: the misfire policy ran it after an outage (fire-once-now); caught-up: a
   * fire-all catch-up; misfired: not run.
   */
  outcome: 'fired' | 'fired-late' | 'caught-up' | 'misfired';
  /** The execution status the fire is recorded with (job_history's words). */
  status: 'running' | 'pending' | 'misfired';
  /** When the engine records it (database time); catch-ups start `delayMs` later. */
  decidedAt: Date;
  delayMs: number;
  /** The planner's note (the misfire decision), as job_history's `error` shows it. */
  note: string | null;
  /** Set when this fire's time was decided by the DST policy. */
  dst?: DstDecision;
}

/** What each misfire policy would have done with one trigger's fires missed in one outage. */
export interface MisfireDecision {
  trigger: string;
  outage: { from: Date; to: Date };
  missed: number;
  policy: MisfirePolicy;
  /** Scheduled times run (late or caught up), by policy; the trigger's own policy is the one that ran. */
  runs: Record<MisfirePolicy, Date[]>;
}

export interface SimulationResult {
  fires: SimulatedFire[];
  dst: DstDecision[];
  misfires: MisfireDecision[];
  /** Fires run (on time, late or caught up) per trigger. */
  runs(trigger?: string): number;
}

const POLICIES: readonly MisfirePolicy[] = ['fire-once-now', 'fire-all', 'skip'];
const toDate = (value: Date | string) => (value instanceof Date ? value : new Date(value));

export async function simulate(
  definitions: DefinitionsInput,
  options: SimulateOptions,
): Promise<SimulationResult> {
  const loaded = await loadDefinitionsInput(definitions, options);
  const from = toDate(options.from);
  const to = toDate(options.to);
  const calendars = definitionsCalendarResolver(loaded);
  const down = downIntervals(options.outages ?? [], options.replicas ?? 1);
  const limits = options.planLimits ?? DEFAULT_PLAN_LIMITS;
  const fires: SimulatedFire[] = [];
  const dst: DstDecision[] = [];
  const misfires: MisfireDecision[] = [];
  for (const trigger of loaded.triggers) {
    if (trigger.paused === true) continue;
    const spec = trigger.record.spec as ScheduleSpec;
    const decisions = dstDecisions(trigger.name, spec, calendars, { from, to });
    dst.push(...decisions);
    const walk = { trigger, calendars, from, to, down, limits };
    const mine = walkTrigger(walk);
    const byTime = new Map(
      decisions
        .filter((d) => d.decision !== 'skipped' && d.decision !== 'skipped-repeat')
        .map((d) => [d.at.getTime(), d]),
    );
    for (const fire of mine) {
      const decision = byTime.get(fire.scheduledAt.getTime());
      fires.push(decision ? { ...fire, dst: decision } : fire);
    }
    if (down.length > 0) misfires.push(...misfireDecisions(walk, mine));
  }
  fires.sort(
    (a, b) => a.scheduledAt.getTime() - b.scheduledAt.getTime() || a.trigger.localeCompare(b.trigger),
  );
  dst.sort((a, b) => a.at.getTime() - b.at.getTime());
  return {
    fires,
    dst,
    misfires,
    runs: (name) =>
      fires.filter((f) => f.outcome !== 'misfired' && (name === undefined || f.trigger === name)).length,
  };
}

interface Walk {
  trigger: TriggerDefinition;
  calendars: CalendarResolver;
  from: Date;
  to: Date;
  down: readonly Interval[];
  limits: PlanLimits;
  policy?: MisfirePolicy;
}

interface Interval {
  from: number;
  to: number;
}

const OUTCOME: Record<PlannedFire['kind'], SimulatedFire['outcome'] | null> = {
  run: 'fired',
  'catch-up': 'caught-up',
  misfire: 'misfired',
  skipped: null,
};

/** One trigger's fires over the window, pass by pass through the planner. */
function walkTrigger(walk: Walk): SimulatedFire[] {
  const { trigger, calendars, from, to, down, limits } = walk;
  const record = trigger.record;
  const compiled = compileSchedule(record.spec as ScheduleSpec, { calendars });
  const zone = ZoneRules.for(compiled.timezone);
  // The planner asks `next`; the explanation of each answer is kept for the report.
  const details = new Map<number, FireDetail>();
  const schedule: Schedule = {
    spec: compiled.spec,
    next(after) {
      const detail = compiled.explainNext(after);
      if (!detail) return null;
      details.set(detail.at, detail);
      return new Date(detail.at);
    },
  };
  const first = firstFireAt(record, from, calendars);
  // The first fire's explanation (what the calendar skipped or moved on the way to it), asked from
  // where `firstFireAt` asked: the window's start, or just before the trigger's start.
  const startFloor = record.startAt ? record.startAt.getTime() - 1 : -Infinity;
  if (first) schedule.next(new Date(Math.max(from.getTime(), startFloor)));
  let state: PlanTrigger = {
    nextFireAt: first,
    previousFireAt: null,
    startAt: record.startAt,
    timesFired: 0,
    maxFires: record.maxFires,
    endAt: record.endAt,
    misfirePolicy: walk.policy ?? record.misfirePolicy,
    misfireThresholdMs: record.misfireThresholdMs,
    replanAt: null,
    misfireUntil: null,
  };
  const fires: SimulatedFire[] = [];
  while (state.nextFireAt && state.nextFireAt.getTime() <= to.getTime()) {
    const now = acquiredAt(state.nextFireAt.getTime(), down);
    if (now > to.getTime()) break;
    const plan = planTrigger(state, schedule, new Date(now), limits);
    for (const planned of plan.fires) {
      const outcome = OUTCOME[planned.kind];
      if (outcome === null) continue;
      const at = planned.scheduledAt.getTime();
      const detail = details.get(at);
      const late = outcome === 'fired' && planned.note !== null;
      fires.push({
        trigger: trigger.name,
        group: record.group,
        job: record.job,
        scheduledAt: planned.scheduledAt,
        local: previewFireOf(detail ?? { at, skipped: [] }, zone).local,
        ...(detail ? calendarNotes(detail, zone) : {}),
        outcome: late ? 'fired-late' : outcome,
        status: planned.kind === 'run' ? 'running' : planned.kind === 'catch-up' ? 'pending' : 'misfired',
        decidedAt: new Date(now),
        delayMs: planned.delayMs,
        note: planned.note,
      });
    }
    state = {
      ...state,
      nextFireAt: plan.nextFireAt,
      previousFireAt: plan.fires[plan.fires.length - 1]?.scheduledAt ?? state.previousFireAt,
      timesFired: state.timesFired + plan.fired,
      misfireUntil: plan.misfireUntil,
      replanAt: plan.replanAt,
    };
  }
  return fires;
}

function calendarNotes(detail: FireDetail, zone: ZoneRules): Pick<SimulatedFire, 'movedFrom' | 'skipped'> {
  const { movedFrom, skipped } = previewFireOf(detail, zone);
  return { ...(movedFrom ? { movedFrom } : {}), ...(skipped ? { skipped } : {}) };
}

/** Per outage, what each policy would run of this trigger's missed fires (the trigger's own ran). */
function misfireDecisions(walk: Walk, mine: readonly SimulatedFire[]): MisfireDecision[] {
  const byPolicy = Object.fromEntries(
    POLICIES.map((policy) => [
      policy,
      policy === walk.trigger.record.misfirePolicy ? mine : walkTrigger({ ...walk, policy }),
    ]),
  ) as Record<MisfirePolicy, readonly SimulatedFire[]>;
  const decisions: MisfireDecision[] = [];
  for (const interval of walk.down) {
    const inOutage = (fire: SimulatedFire) =>
      fire.decidedAt.getTime() === interval.to && fire.scheduledAt.getTime() < interval.to;
    const decided = mine.filter(inOutage);
    if (decided.length === 0) continue;
    const runs = Object.fromEntries(
      POLICIES.map((policy) => [
        policy,
        byPolicy[policy].filter((f) => inOutage(f) && f.outcome !== 'misfired').map((f) => f.scheduledAt),
      ]),
    ) as Record<MisfirePolicy, Date[]>;
    decisions.push({
      trigger: walk.trigger.name,
      outage: { from: new Date(interval.from), to: new Date(interval.to) },
      missed: decided.length,
      policy: walk.trigger.record.misfirePolicy,
      runs,
    });
  }
  return decisions;
}

/** When a fire due at `dueMs` is acquired: at once, or when the cluster comes back. */
function acquiredAt(dueMs: number, down: readonly Interval[]): number {
  for (const interval of down) if (dueMs > interval.from && dueMs < interval.to) return interval.to;
  return dueMs;
}

/** The times every replica was down, merged and in order. */
export function downIntervals(outages: readonly Outage[], replicas: number): Interval[] {
  const spans = outages.map((outage) => ({
    from: toDate(outage.from).getTime(),
    to: toDate(outage.to).getTime(),
    replicas: outage.replicas ?? [...Array(replicas).keys()],
  }));
  const points = [...new Set(spans.flatMap((s) => [s.from, s.to]))].sort((a, b) => a - b);
  const intervals: Interval[] = [];
  for (let i = 0; i + 1 < points.length; i += 1) {
    const [a, b] = [points[i]!, points[i + 1]!];
    const downNow = new Set(spans.filter((s) => s.from <= a && s.to >= b).flatMap((s) => s.replicas));
    const all = [...Array(replicas).keys()].every((r) => downNow.has(r));
    if (!all) continue;
    const last = intervals[intervals.length - 1];
    if (last && last.to === a) last.to = b;
    else intervals.push({ from: a, to: b });
  }
  return intervals;
}
