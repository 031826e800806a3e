import { describe, expect, it } from 'vitest';
import {
  checkRunLog,
  type InstanceDeath,
  type RecordedAttempt,
  type RunLogCheckInput,
} from '../../../src/audit/run-log-checker.js';
import { formatClockLine, formatRunLine, parseRunLog, type RunLine } from '../../../src/audit/run-log.js';

const T0 = Date.parse('2030-01-01T00:00:00Z');
const at = (ms: number) => new Date(T0 + ms);
const window = { since: at(0), until: at(60_000) };
const A = 'instance-a';
const B = 'instance-b';

function attempt(id: string, partial: Partial<RecordedAttempt> = {}): RecordedAttempt {
  const scheduledAt = at(Number(id) * 1000);
  return {
    executionId: id,
    fireId: `f${id}`,
    trigger: 't',
    scheduledAt,
    attempt: 1,
    status: 'succeeded',
    instanceId: A,
    claimedAt: scheduledAt,
    recover: false,
    ...partial,
  };
}

function run(of: RecordedAttempt, partial: Partial<RunLine> = {}): RunLine {
  return {
    kind: 'run',
    trigger: of.trigger,
    scheduledAt: of.scheduledAt,
    attempt: of.attempt,
    executionId: of.executionId,
    instanceId: of.instanceId ?? A,
    pid: 100,
    wallTime: new Date(of.scheduledAt.getTime() + 5),
    ...partial,
  };
}

type Input = RunLogCheckInput & { attempts: RecordedAttempt[]; deaths: InstanceDeath[] };

/** A clean history: three fires, each run once, by a process whose clock is 300 s ahead. */
function baseline(): Input {
  const attempts = [attempt('1'), attempt('2'), attempt('3')];
  const skew = 300_000;
  const runs = attempts.map((a) => run(a, { wallTime: new Date(a.scheduledAt.getTime() + 5 + skew) }));
  return {
    runLog: {
      runs,
      clocks: [{ kind: 'clock', pid: 100, wallTime: at(skew), dbTime: at(0), rttMs: 4 }],
      malformed: [],
    },
    attempts,
    deaths: [],
    window,
  };
}

const kinds = (input: RunLogCheckInput) => checkRunLog(input).violations.map((v) => v.kind);

describe('checkRunLog', () => {
  it('accepts a clean history, and measures the process clock offset', () => {
    const report = checkRunLog(baseline());
    expect(report.violations).toEqual([]);
    expect(report.runsChecked).toBe(3);
    expect(report.offsets).toEqual([{ pid: 100, offsetMs: 300_000, uncertaintyMs: 2 }]);
  });

  it('flags a malformed line', () => {
    const input = baseline();
    input.runLog.malformed = [7];
    expect(kinds(input)).toEqual(['malformed-line']);
  });

  it('flags a run with no recorded attempt, or one that does not match it', () => {
    const input = baseline();
    input.runLog.runs.push(run(attempt('9')));
    expect(kinds(input)).toEqual(['run-without-attempt']);

    const wrongAttempt = baseline();
    wrongAttempt.runLog.runs[0] = { ...wrongAttempt.runLog.runs[0]!, attempt: 2 };
    expect(kinds(wrongAttempt)).toEqual(['run-without-attempt']);

    const misfired = baseline();
    misfired.attempts[1] = { ...misfired.attempts[1]!, status: 'misfired' };
    expect(kinds(misfired)).toEqual(['run-without-attempt']);
  });

  it('flags a run under an identity other than the one that claimed the attempt', () => {
    const input = baseline();
    input.runLog.runs[2] = { ...input.runLog.runs[2]!, instanceId: B };
    expect(kinds(input)).toEqual(['run-under-other-identity']);
  });

  it('flags a succeeded or timed-out attempt that never ran, not a failed or abandoned one', () => {
    const input = baseline();
    input.attempts.push(attempt('4'), attempt('5', { status: 'timed_out' }));
    input.attempts.push(attempt('6', { status: 'failed' }), attempt('7', { status: 'abandoned' }));
    expect(kinds(input)).toEqual(['attempt-without-run', 'attempt-without-run']);
  });

  it('flags an attempt that ran twice', () => {
    const input = baseline();
    input.runLog.runs.push({ ...input.runLog.runs[0]!, pid: 200 });
    expect(kinds(input)).toContain('attempt-ran-twice');
  });

  it('flags a recover: false fire run by two attempts, but not a retry after a failure', () => {
    const twice = baseline();
    const second = attempt('1', { executionId: '11', attempt: 2, instanceId: B });
    twice.attempts.push(second);
    twice.runLog.runs.push(run(second));
    expect(kinds(twice)).toEqual(['fire-ran-twice']);

    const retried = baseline();
    retried.attempts[0] = { ...retried.attempts[0]!, status: 'failed' };
    retried.attempts.push(second);
    retried.runLog.runs.push(run(second));
    expect(kinds(retried)).toEqual([]);

    const recoverable = baseline();
    recoverable.attempts[0] = { ...recoverable.attempts[0]!, status: 'recovered', recover: true };
    recoverable.attempts.push({ ...second, recover: true });
    recoverable.runLog.runs.push(run(second));
    expect(kinds(recoverable)).toEqual([]);
  });

  it('flags an attempt claimed by an instance after it was declared dead', () => {
    const input = baseline();
    input.deaths = [{ instanceId: A, name: 'replica-1', deadAt: at(2_500) }];
    input.runLog.runs = input.runLog.runs.slice(0, 2);
    input.attempts[2] = { ...input.attempts[2]!, status: 'abandoned' };
    expect(kinds(input)).toEqual(['claim-after-death']);
  });

  it('flags a run that started after its instance was declared dead, on the database clock', () => {
    const death: InstanceDeath = { instanceId: A, name: 'replica-1', deadAt: at(2_500) };
    const input = baseline();
    // Claimed in time (at 2 s), but the handler started 3 s later, at 5 s by the database clock
    // (305 s by the process's skewed clock).
    input.attempts[1] = { ...input.attempts[1]!, claimedAt: at(2_000) };
    input.runLog.runs[1] = { ...input.runLog.runs[1]!, wallTime: at(305_000) };
    input.runLog.runs = input.runLog.runs.slice(0, 2);
    input.attempts = input.attempts.slice(0, 2);
    input.deaths = [death];
    expect(kinds(input)).toEqual(['run-after-death']);

    // Within the tolerance (plus half the round trip) it is not judged late.
    input.runLog.runs[1] = { ...input.runLog.runs[1]!, wallTime: at(300_000 + 2_500 + 400) };
    expect(kinds(input)).toEqual([]);
  });

  it('does not judge runs after death for a process it cannot place on the database clock', () => {
    const input = baseline();
    input.runLog.clocks = [];
    input.deaths = [{ instanceId: A, name: 'replica-1', deadAt: at(0) }];
    input.attempts = input.attempts.map((a) => ({ ...a, claimedAt: at(-1) }));
    const report = checkRunLog(input);
    expect(report.violations).toEqual([]);
    expect(report.unplacedPids).toEqual([100]);
  });

  it('judges only fires scheduled in the window', () => {
    const input = baseline();
    input.runLog.runs.push(run(attempt('99'))); // at 99 s, outside the window
    expect(kinds(input)).toEqual([]);
  });
});

describe('run log lines', () => {
  it('round-trips run and clock lines, and counts malformed ones', () => {
    const line = run(attempt('1'));
    const text =
      formatRunLine(line) +
      formatClockLine({ pid: 1, wallTime: at(1), dbTime: at(0), rttMs: 2 }) +
      '{"kind":"run"}\nnot json\n\n';
    const log = parseRunLog(text);
    expect(log.runs).toEqual([line]);
    expect(log.clocks).toEqual([{ kind: 'clock', pid: 1, wallTime: at(1), dbTime: at(0), rttMs: 2 }]);
    expect(log.malformed).toEqual([3, 4]);
  });
});
