/**
 * Checks the audit history against Belfry's promises over a time window:
 *   - every scheduled fire time of every trigger has exactly one fire (a miss only as a recorded misfire),
 *     following the schedule changes the caller reports (see `judgeExpectedFires`);
 *   - every execution reached a terminal status, recovery chains are complete, no fire succeeded twice;
 *   - no leader-only write was made under a stale epoch;
 *   - each outage's missed fires ran as the trigger's misfire policy says (see `checkMisfirePolicies`);
 *   - one continuation fire per upstream fire whose outcome calls for it, and, with a run log, that its
 *     handler ran (see `checkContinuations`);
 *   - with a run log (what the handlers themselves recorded, outside the database): every run has a
 *     recorded attempt, every attempt that succeeded ran, no recover: false fire ran twice, and nothing
 *     ran or was claimed under an identity after it was declared dead (see `checkRunLog`).
 * The fire-row checks alone cannot see a handler that runs twice: `UNIQUE (trigger_id, scheduled_at)`
 * keeps the fire rows right even then. The run log is what sees it.
 * Used by the chaos test and by operators (`belfry audit`), against any Belfry database.
 */
import {
  attemptsInWindow,
  executionAnomalies,
  firesWithFirstStatus,
  instanceDeaths,
  staleEpochWrites,
  triggersWithFires,
  type ExecutionAnomaly,
  type StaleEpochWrite,
} from '../store/audit-store.js';
import type { Executor } from '../store/executor.js';
import type { ScheduleSpec } from '../time/schedule.js';
import {
  judgeExpectedFires,
  type FireViolation,
  type ScheduleChange,
  type ScheduleVersion,
} from './expected-fires.js';
import { DEFAULT_PLAN_LIMITS } from '../engine/fire-planner.js';
import { checkMisfirePolicies, type PolicyViolation } from './misfire-checker.js';
import { checkRunLog, type RunLogReport } from './run-log-checker.js';
import type { RunLog } from './run-log.js';
import { checkContinuations, type ContinuationReport } from './continuation-checker.js';
import { continuationFacts } from '../store/continuation-audit-store.js';

export type { FireViolation } from './expected-fires.js';

export interface AuditReport {
  window: { since: Date; until: Date };
  triggersChecked: number;
  firesExpected: number;
  fireViolations: FireViolation[];
  executionAnomalies: ExecutionAnomaly[];
  staleEpochWrites: StaleEpochWrite[];
  misfireOutages: number;
  misfirePolicyViolations: PolicyViolation[];
  /** Present when a run log was given. */
  runLog?: RunLogReport;
  /** One continuation per upstream outcome that calls for it (continuation-checker.ts). */
  continuations: ContinuationReport;
  ok: boolean;
}

/** A trigger's schedule history inside the window: what it was at the start, and each change. */
export interface ScheduleHistory {
  initial: ScheduleVersion;
  changes: ScheduleChange[];
}

export interface AuditOptions {
  since: Date;
  until: Date;
  triggerPattern?: string;
  maxViolations?: number;
  /**
   * Schedule changes made in the window, by trigger name. Without an entry, a trigger is judged by the
   * schedule it has now over the whole window (so start the window after the last change).
   */
  scheduleHistory?: ReadonlyMap<string, ScheduleHistory>;
  runLog?: RunLog;
  /** See `checkRunLog`. */
  deathToleranceMs?: number;
  /** fire-all's cap, when the scheduler was given other plan limits. */
  catchUpMax?: number;
}

export async function auditHistory(ex: Executor, options: AuditOptions): Promise<AuditReport> {
  const window = { since: options.since, until: options.until };
  const triggers = await triggersWithFires(ex, { ...window, namePattern: options.triggerPattern });
  const fireViolations: FireViolation[] = [];
  let firesExpected = 0;
  for (const trigger of triggers) {
    if (trigger.maxFires !== null) continue; // a counted trigger may legitimately stop anywhere
    const history = options.scheduleHistory?.get(trigger.name) ?? {
      initial: { spec: trigger.spec as ScheduleSpec, endAt: trigger.endAt },
      changes: [],
    };
    const judged = judgeExpectedFires({
      trigger: trigger.name,
      initial: history.initial,
      changes: history.changes,
      recorded: new Map(trigger.fires.map((fire) => [fire.scheduledAt.getTime(), fire.count])),
      window,
    });
    firesExpected += judged.expected;
    fireViolations.push(...judged.violations);
  }
  const anomalies = await executionAnomalies(ex, window);
  const stale = await staleEpochWrites(ex, window);
  const misfires = checkMisfirePolicies(
    await firesWithFirstStatus(ex, { ...window, namePattern: options.triggerPattern }),
    { window, catchUpMax: options.catchUpMax ?? DEFAULT_PLAN_LIMITS.catchUpMax },
  );
  const runLog = options.runLog
    ? checkRunLog({
        runLog: options.runLog,
        attempts: await attemptsInWindow(ex, window),
        deaths: await instanceDeaths(ex),
        window,
        toleranceMs: options.deathToleranceMs,
      })
    : undefined;
  const continuations = checkContinuations({
    facts: await continuationFacts(ex, window),
    runLog: options.runLog,
  });
  const cap = options.maxViolations ?? 1_000;
  return {
    window,
    triggersChecked: triggers.length,
    firesExpected,
    fireViolations: fireViolations.slice(0, cap),
    executionAnomalies: anomalies.slice(0, cap),
    staleEpochWrites: stale.slice(0, cap),
    misfireOutages: misfires.outages,
    misfirePolicyViolations: misfires.violations.slice(0, cap),
    ...(runLog ? { runLog: { ...runLog, violations: runLog.violations.slice(0, cap) } } : {}),
    continuations: { ...continuations, violations: continuations.violations.slice(0, cap) },
    ok:
      continuations.violations.length === 0 &&
      fireViolations.length === 0 &&
      anomalies.length === 0 &&
      stale.length === 0 &&
      misfires.violations.length === 0 &&
      (runLog?.violations.length ?? 0) === 0,
  };
}
