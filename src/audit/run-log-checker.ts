/**
 * Holds a run log (what handlers actually did) against the history (what Belfry recorded). Pure: the
 * caller reads both and passes them in, so `belfry audit --run-log` and the chaos test judge alike.
 *
 * Checks, over the runs and attempts whose fire is scheduled in the window:
 *   - run-without-attempt: every run matches an execution attempt with the same id, trigger, scheduled
 *     time and attempt number, whose status says it started (not pending, misfired, skipped, vetoed);
 *   - run-under-other-identity: the run's instance is the one the attempt was claimed by;
 *   - attempt-without-run: every attempt recorded `succeeded` or `timed_out` has a run (its handler ran;
 *     `failed` is left out because a job that is not registered, or whose data is rejected, fails before
 *     its handler starts);
 *   - attempt-ran-twice: no attempt has two runs;
 *   - fire-ran-twice: a `recover: false` fire has at most one run, plus one per retry after a failure;
 *   - claim-after-death: no attempt was claimed (started_at, database time) by an instance after the
 *     leader declared it dead (stopped_at of a `dead` instance, database time);
 *   - run-after-death: no run started under an instance after it was declared dead.
 *
 * The last check compares a process's wall clock with the database's. A run line's `wallTime` is moved
 * onto the database's time line by that process's measured offset (its `clock` line with the smallest
 * round trip: offset = wall − db, uncertain by rtt/2), and a run counts as after death only when it is
 * later than the death by more than `toleranceMs` plus that uncertainty. A process with no clock line
 * cannot be placed on the database's time line: its runs are not judged for this check, and the report
 * names it in `unplacedPids` (a caller that needs the check asserts the list is empty).
 */
import type { RecordedAttempt } from '../store/audit-store.js';
import type { ClockLine, RunLine, RunLog } from './run-log.js';

export type { RecordedAttempt };

/** An instance the leader declared dead, and when (database time). */
export interface InstanceDeath {
  instanceId: string;
  name: string;
  deadAt: Date;
}

export type RunViolationKind =
  | 'malformed-line'
  | 'run-without-attempt'
  | 'run-under-other-identity'
  | 'attempt-without-run'
  | 'attempt-ran-twice'
  | 'fire-ran-twice'
  | 'claim-after-death'
  | 'run-after-death';

export interface RunViolation {
  kind: RunViolationKind;
  trigger: string;
  scheduledAt: Date | null;
  executionId: string | null;
  detail: string;
}

export interface ClockOffset {
  pid: number;
  /** wall − database, in ms. */
  offsetMs: number;
  uncertaintyMs: number;
}

export interface RunLogReport {
  runsChecked: number;
  attemptsChecked: number;
  offsets: ClockOffset[];
  /** Processes with runs in the window but no clock line: their runs were not judged for run-after-death. */
  unplacedPids: number[];
  violations: RunViolation[];
}

export interface RunLogCheckInput {
  runLog: RunLog;
  attempts: readonly RecordedAttempt[];
  deaths: readonly InstanceDeath[];
  window: { since: Date; until: Date };
  /** Slack on top of the clock-offset uncertainty before a run counts as after its instance's death. */
  toleranceMs?: number;
}

export const DEFAULT_DEATH_TOLERANCE_MS = 500;

/** Statuses of an attempt that never started its handler. */
const NOT_STARTED = new Set(['pending', 'misfired', 'skipped', 'vetoed']);
/** Statuses that prove the handler ran to an outcome. */
const MUST_HAVE_RUN = new Set(['succeeded', 'timed_out']);
const RETRYABLE = new Set(['failed', 'timed_out']);

export function checkRunLog(input: RunLogCheckInput): RunLogReport {
  const { runLog, window } = input;
  const toleranceMs = input.toleranceMs ?? DEFAULT_DEATH_TOLERANCE_MS;
  const inWindow = (at: Date) =>
    at.getTime() >= window.since.getTime() && at.getTime() < window.until.getTime();
  const runs = runLog.runs.filter((run) => inWindow(run.scheduledAt));
  const attempts = input.attempts.filter((attempt) => inWindow(attempt.scheduledAt));
  const violations: RunViolation[] = runLog.malformed.map((line) => ({
    kind: 'malformed-line',
    trigger: '',
    scheduledAt: null,
    executionId: null,
    detail: `line ${line} is not a run or clock record`,
  }));
  const flag = (
    kind: RunViolationKind,
    on: { trigger: string; scheduledAt: Date; executionId: string | null },
    detail: string,
  ) =>
    violations.push({
      kind,
      trigger: on.trigger,
      scheduledAt: on.scheduledAt,
      executionId: on.executionId,
      detail,
    });

  const attemptById = new Map(attempts.map((attempt) => [attempt.executionId, attempt]));
  const runsByExecution = groupBy(runs, (run) => run.executionId);
  const deathOf = new Map(input.deaths.map((death) => [death.instanceId, death]));

  for (const run of runs) {
    const attempt = attemptById.get(run.executionId);
    const problem = mismatch(run, attempt);
    if (problem) flag('run-without-attempt', run, problem);
    else if (attempt!.instanceId !== run.instanceId)
      flag(
        'run-under-other-identity',
        run,
        `ran under instance ${run.instanceId}, claimed by ${attempt!.instanceId ?? 'no instance'}`,
      );
  }
  for (const [executionId, list] of runsByExecution) {
    if (list.length > 1)
      flag(
        'attempt-ran-twice',
        list[0]!,
        `execution ${executionId} ran ${list.length} times (pids ${list.map((r) => r.pid).join(', ')})`,
      );
  }

  for (const attempt of attempts) {
    const on = {
      trigger: attempt.trigger,
      scheduledAt: attempt.scheduledAt,
      executionId: attempt.executionId,
    };
    if (MUST_HAVE_RUN.has(attempt.status) && !runsByExecution.has(attempt.executionId))
      flag(
        'attempt-without-run',
        on,
        `attempt ${attempt.attempt} is ${attempt.status} but no run was logged`,
      );
    const death = attempt.instanceId === null ? undefined : deathOf.get(attempt.instanceId);
    if (death && attempt.claimedAt && attempt.claimedAt.getTime() > death.deadAt.getTime())
      flag(
        'claim-after-death',
        on,
        `claimed by ${death.name} at ${attempt.claimedAt.toISOString()}, declared dead at ${death.deadAt.toISOString()}`,
      );
  }

  checkRunsPerFire(runs, attempts, flag);

  const offsets = clockOffsets(runLog.clocks);
  const offsetOf = new Map(offsets.map((offset) => [offset.pid, offset]));
  const unplaced = new Set<number>();
  for (const run of runs) {
    const death = deathOf.get(run.instanceId);
    if (!death) continue;
    const offset = offsetOf.get(run.pid);
    if (!offset) {
      unplaced.add(run.pid);
      continue;
    }
    const dbTimeMs = run.wallTime.getTime() - offset.offsetMs;
    const lateMs = dbTimeMs - death.deadAt.getTime();
    if (lateMs > toleranceMs + offset.uncertaintyMs)
      flag(
        'run-after-death',
        run,
        `started ${lateMs} ms (database time) after ${death.name} was declared dead at ${death.deadAt.toISOString()}`,
      );
  }

  return {
    runsChecked: runs.length,
    attemptsChecked: attempts.length,
    offsets,
    unplacedPids: [...unplaced].sort((a, b) => a - b),
    violations,
  };
}

function mismatch(run: RunLine, attempt: RecordedAttempt | undefined): string | null {
  if (!attempt) return `no execution ${run.executionId} is recorded for this fire`;
  if (attempt.trigger !== run.trigger) return `execution ${run.executionId} belongs to ${attempt.trigger}`;
  if (attempt.scheduledAt.getTime() !== run.scheduledAt.getTime())
    return `execution ${run.executionId} is scheduled at ${attempt.scheduledAt.toISOString()}`;
  if (attempt.attempt !== run.attempt)
    return `execution ${run.executionId} is attempt ${attempt.attempt}, the run says ${run.attempt}`;
  if (NOT_STARTED.has(attempt.status)) return `execution ${run.executionId} is recorded ${attempt.status}`;
  return null;
}

/** recover: false fires: one run, plus one per retry that followed a failure or a timeout. */
function checkRunsPerFire(
  runs: readonly RunLine[],
  attempts: readonly RecordedAttempt[],
  flag: (kind: RunViolationKind, on: RunLine, detail: string) => void,
): void {
  const attemptsByFire = groupBy(attempts, (a) => `${a.trigger}@${a.scheduledAt.toISOString()}`);
  const runsByFire = groupBy(runs, (run) => `${run.trigger}@${run.scheduledAt.toISOString()}`);
  for (const [fire, fireRuns] of runsByFire) {
    const fireAttempts = attemptsByFire.get(fire);
    // Unknown fires are run-without-attempt already; recover: true fires may legitimately run again.
    if (!fireAttempts || fireAttempts.some((a) => a.recover)) continue;
    const statusOf = new Map(fireAttempts.map((a) => [a.attempt, a.status]));
    const retries = fireAttempts.filter((a) => RETRYABLE.has(statusOf.get(a.attempt - 1) ?? '')).length;
    if (fireRuns.length > 1 + retries)
      flag(
        'fire-ran-twice',
        fireRuns[0]!,
        `a recover: false fire ran ${fireRuns.length} times with ${retries} retries (instances ${[...new Set(fireRuns.map((r) => r.instanceId))].join(', ')})`,
      );
  }
}

/** Per process, the offset of its wall clock from the database's, from its tightest measurement. */
export function clockOffsets(clocks: readonly ClockLine[]): ClockOffset[] {
  const best = new Map<number, ClockLine>();
  for (const clock of clocks) {
    const held = best.get(clock.pid);
    if (!held || clock.rttMs < held.rttMs) best.set(clock.pid, clock);
  }
  return [...best.values()]
    .map((clock) => ({
      pid: clock.pid,
      offsetMs: clock.wallTime.getTime() - clock.dbTime.getTime(),
      uncertaintyMs: clock.rttMs / 2,
    }))
    .sort((a, b) => a.pid - b.pid);
}

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = groups.get(k);
    if (list) list.push(item);
    else groups.set(k, [item]);
  }
  return groups;
}
