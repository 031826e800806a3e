/**
 * Holds continuations (`after: { job, on }`) against their promise: one continuation fire per upstream
 * fire whose outcome calls for it, never two, never one without such an outcome. Pure: the caller reads
 * the history (store/continuation-audit-store.ts) and, when it has one, the run log.
 *
 * From the history:
 *   - continuation-missing: an upstream fire whose latest attempt ended in an outcome of `on` (the
 *     outcome is settled: no retry pending) has no continuation fire;
 *   - continuation-twice: an upstream fire has more than one continuation fire for one trigger;
 *   - continuation-unwarranted: a continuation fire exists for an upstream fire whose latest outcome is
 *     not in `on` (and is settled).
 * From the run log (independent of the database), for upstream fires whose recorded success is real
 * (the upstream's handler ran):
 *   - continuation-not-run: the continuation fire succeeded but no run of its handler is in the log;
 *   - continuation-ran-for-two-fires: runs of more than one continuation fire of the same trigger follow
 *     the same upstream fire.
 * Fan-in (`after: { all }`) is not judged here.
 */
import type { UpstreamFact } from '../store/continuation-audit-store.js';
import type { RunLog } from './run-log.js';

export type { UpstreamFact };

export type ContinuationViolationKind =
  | 'continuation-missing'
  | 'continuation-twice'
  | 'continuation-unwarranted'
  | 'continuation-not-run'
  | 'continuation-ran-for-two-fires';

export interface ContinuationViolation {
  kind: ContinuationViolationKind;
  trigger: string;
  upstreamFireId: string;
  scheduledAt: Date;
  detail: string;
}

export interface ContinuationReport {
  /** Upstream fires judged (those whose outcome is settled). */
  upstreamsChecked: number;
  /** Continuation fires that the judged upstreams called for and have. */
  continuations: number;
  /** Of those, the ones the run log shows ran (when a run log was given). */
  continuationsRun: number;
  /**
   * Of those, the ones still in flight when read (latest attempt pending, running or recovered): not yet
   * run is no violation for them. Every other one must have run, or the run log or the history is wrong.
   */
  continuationsInFlight: number;
  /** Settled continuations (not in flight) with no run in the run log: expected none. */
  continuationsSettledNotRun: number;
  violations: ContinuationViolation[];
}

const UNSETTLED = new Set(['pending', 'running', 'recovered']);
const ANY = ['succeeded', 'failed', 'timed_out'];

export function checkContinuations(input: {
  facts: readonly UpstreamFact[];
  runLog?: RunLog;
}): ContinuationReport {
  const violations: ContinuationViolation[] = [];
  const ran = input.runLog ? new Set(input.runLog.runs.map((run) => run.executionId)) : undefined;
  let upstreamsChecked = 0;
  let continuations = 0;
  let continuationsRun = 0;
  let continuationsInFlight = 0;
  let continuationsSettledNotRun = 0;
  for (const fact of input.facts) {
    if (UNSETTLED.has(fact.status)) continue;
    upstreamsChecked += 1;
    const on = fact.on.includes('any') ? ANY : fact.on;
    const wanted = on.includes(fact.status);
    const flag = (kind: ContinuationViolationKind, detail: string) =>
      violations.push({
        kind,
        trigger: fact.afterTrigger,
        upstreamFireId: fact.upstreamFireId,
        scheduledAt: fact.scheduledAt,
        detail,
      });
    const count = fact.continuations.length;
    if (wanted && count === 0)
      flag(
        'continuation-missing',
        `upstream ${fact.upstreamTrigger} ended ${fact.status}; no continuation fire`,
      );
    if (count > 1)
      flag(
        'continuation-twice',
        `${count} continuation fires: ${fact.continuations.map((c) => c.fireId).join(', ')}`,
      );
    if (!wanted && count > 0)
      flag('continuation-unwarranted', `upstream ended ${fact.status}, not one of ${on.join(', ')}`);
    if (!wanted) continue;
    continuations += Math.min(count, 1);
    const inFlight = count > 0 && fact.continuations.every((c) => UNSETTLED.has(c.status));
    if (inFlight) continuationsInFlight += 1;
    if (!ran) continue;
    const runFires = fact.continuations.filter((c) => c.executionIds.some((id) => ran.has(id)));
    continuationsRun += runFires.length > 0 ? 1 : 0;
    if (count > 0 && runFires.length === 0 && !inFlight) continuationsSettledNotRun += 1;
    for (const c of fact.continuations)
      if (c.status === 'succeeded' && !c.executionIds.some((id) => ran.has(id)))
        flag('continuation-not-run', `continuation fire ${c.fireId} succeeded but its handler never ran`);
    if (runFires.length > 1)
      flag(
        'continuation-ran-for-two-fires',
        `handlers of continuation fires ${runFires.map((c) => c.fireId).join(', ')} ran for one upstream fire`,
      );
  }
  return {
    upstreamsChecked,
    continuations,
    continuationsRun,
    continuationsInFlight,
    continuationsSettledNotRun,
    violations,
  };
}
