/**
 * Checks the audit history against Belfry's promises over a time window, from the database alone:
 *   - every scheduled fire time of every trigger has exactly one fire (a miss only as a recorded misfire);
 *   - every execution reached a terminal status, recovery chains are complete, no fire succeeded twice;
 *   - no leader-only write was made under a stale epoch.
 * Used by the chaos test and by operators (`belfry audit`), against any Belfry database.
 */
import {
  executionAnomalies,
  staleEpochWrites,
  triggersWithFires,
  type ExecutionAnomaly,
  type StaleEpochWrite,
} from '../store/audit-store.js';
import type { Executor } from '../store/executor.js';
import { compileSchedule, type ScheduleSpec } from '../time/schedule.js';

export interface FireViolation {
  kind: 'missing' | 'duplicate' | 'unexpected';
  trigger: string;
  scheduledAt: Date;
  count: number;
}

export interface AuditReport {
  window: { since: Date; until: Date };
  triggersChecked: number;
  firesExpected: number;
  fireViolations: FireViolation[];
  executionAnomalies: ExecutionAnomaly[];
  staleEpochWrites: StaleEpochWrite[];
  ok: boolean;
}

export async function auditHistory(
  ex: Executor,
  options: { since: Date; until: Date; triggerPattern?: string; maxViolations?: number },
): Promise<AuditReport> {
  const window = { since: options.since, until: options.until };
  const triggers = await triggersWithFires(ex, { ...window, namePattern: options.triggerPattern });
  const fireViolations: FireViolation[] = [];
  let firesExpected = 0;
  for (const trigger of triggers) {
    const schedule = compileSchedule(trigger.spec as ScheduleSpec);
    const recorded = new Map(trigger.fires.map((fire) => [fire.scheduledAt.getTime(), fire.count]));
    const end = Math.min(options.until.getTime(), trigger.endAt ? trigger.endAt.getTime() + 1 : Infinity);
    for (
      let at = schedule.next(new Date(options.since.getTime() - 1));
      at && at.getTime() < end;
      at = schedule.next(at)
    ) {
      if (trigger.maxFires !== null) break; // a counted trigger may legitimately stop anywhere
      firesExpected += 1;
      const count = recorded.get(at.getTime()) ?? 0;
      recorded.delete(at.getTime());
      if (count !== 1)
        fireViolations.push({
          kind: count === 0 ? 'missing' : 'duplicate',
          trigger: trigger.name,
          scheduledAt: at,
          count,
        });
    }
    if (trigger.maxFires === null) {
      for (const [at, count] of recorded)
        fireViolations.push({ kind: 'unexpected', trigger: trigger.name, scheduledAt: new Date(at), count });
    }
  }
  const anomalies = await executionAnomalies(ex, window);
  const stale = await staleEpochWrites(ex, window);
  const cap = options.maxViolations ?? 1_000;
  return {
    window,
    triggersChecked: triggers.length,
    firesExpected,
    fireViolations: fireViolations.slice(0, cap),
    executionAnomalies: anomalies.slice(0, cap),
    staleEpochWrites: stale.slice(0, cap),
    ok: fireViolations.length === 0 && anomalies.length === 0 && stale.length === 0,
  };
}
