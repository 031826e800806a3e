/** Listener registry: matchers, ordering, veto, and the safety net (throwing and timed-out hooks). */
import { describe, expect, it } from 'vitest';
import { compileGlob, compileMatcher } from '../../../src/listeners/listener-matcher.js';
import { ListenerRegistry, type ListenerFailure } from '../../../src/listeners/listener-registry.js';
import type { ExecutionInfo } from '../../../src/listeners/listener.js';
import { systemClock } from '../../../src/time/clock.js';

const execution = (over: Partial<ExecutionInfo> = {}): ExecutionInfo => ({
  job: 'report',
  trigger: 'nightly-report',
  group: 'reports',
  scheduledAt: new Date('2026-01-01T00:00:00Z'),
  firedAt: new Date('2026-01-01T00:00:00.010Z'),
  attempt: 1,
  fireId: '1',
  executionId: '1',
  instanceId: 'i',
  data: null,
  traceId: null,
  ...over,
});

function registry(timeoutMs = 100) {
  const failures: ListenerFailure[] = [];
  const reg = new ListenerRegistry({ clock: systemClock, timeoutMs, onFailure: (f) => failures.push(f) });
  return { reg, failures };
}

describe('matchers', () => {
  it('matches exact names, globs, groups, and lists of matchers', () => {
    expect(compileGlob('nightly-*')('nightly-report')).toBe(true);
    expect(compileGlob('nightly-*')('weekly-report')).toBe(false);
    expect(compileGlob('a?c')('abc')).toBe(true);
    expect(compileGlob('a.c')('abc')).toBe(false); // regex characters are literal
    expect(compileGlob('report')('report')).toBe(true);
    expect(compileMatcher(undefined)('x', 'y')).toBe(true);
    expect(compileMatcher({ group: 'rep*' })('x', 'reports')).toBe(true);
    expect(compileMatcher({ name: 'x', group: 'other' })('x', 'reports')).toBe(false);
    expect(compileMatcher([{ name: 'nope' }, { group: 'reports' }])('x', 'reports')).toBe(true);
  });

  it('calls a job listener only for the jobs its matcher selects', async () => {
    const { reg } = registry();
    const seen: string[] = [];
    reg.addJobListener(
      { name: 'reports-only', jobToBeExecuted: (e) => void seen.push(e.job) },
      { group: 'reports' },
    );
    reg.addJobListener(
      { name: 'by-name', jobToBeExecuted: (e) => void seen.push(`name:${e.job}`) },
      { name: 'rep*' },
    );
    await reg.jobToBeExecuted(execution());
    await reg.jobToBeExecuted(execution({ job: 'other', group: 'misc' }));
    expect(seen).toEqual(['report', 'name:report']);
  });
});

describe('registration', () => {
  it('refuses a nameless listener and a duplicate name; removes by name', () => {
    const { reg } = registry();
    expect(() => reg.addJobListener({ name: '' })).toThrow(/needs a name/);
    const remove = reg.addJobListener({ name: 'a' });
    expect(() => reg.addJobListener({ name: 'a' })).toThrow(/already registered/);
    expect(remove()).toBe(true);
    expect(reg.removeJobListener('a')).toBe(false);
    reg.addTriggerListener({ name: 'a' });
    reg.addSchedulerListener({ name: 'a' });
    expect([reg.triggerListenerNames, reg.schedulerListenerNames]).toEqual([['a'], ['a']]);
  });
});

describe('veto', () => {
  it('returns the first vetoing listener, in registration order, awaiting async ones', async () => {
    const { reg } = registry();
    const asked: string[] = [];
    reg.addTriggerListener({ name: 'allow', vetoJobExecution: () => (asked.push('allow'), false) });
    reg.addTriggerListener({
      name: 'maintenance',
      vetoJobExecution: async () => (asked.push('maintenance'), true),
    });
    reg.addTriggerListener({ name: 'never-asked', vetoJobExecution: () => (asked.push('never'), true) });
    expect(await reg.vetoer(execution())).toBe('maintenance');
    expect(asked).toEqual(['allow', 'maintenance']);
  });

  it('does not veto when the vetoing hook throws or times out; reports both', async () => {
    const { reg, failures } = registry(50);
    reg.addTriggerListener({
      name: 'thrower',
      vetoJobExecution: () => {
        throw new Error('boom');
      },
    });
    reg.addTriggerListener({
      name: 'slow',
      vetoJobExecution: () =>
        new Promise<boolean>((resolve) => setTimeout(() => resolve(true), 1_000).unref()),
    });
    const started = performance.now();
    expect(await reg.vetoer(execution())).toBeNull();
    expect(performance.now() - started).toBeLessThan(800);
    expect(failures.map((f) => [f.listener, f.hook, f.timedOut])).toEqual([
      ['thrower', 'vetoJobExecution', false],
      ['slow', 'vetoJobExecution', true],
    ]);
  });
});

describe('safety', () => {
  it('goes on to the next listener after one rejects, and calls triggerComplete after jobWasExecuted', async () => {
    const { reg, failures } = registry();
    const calls: string[] = [];
    reg.addJobListener({
      name: 'rejects',
      jobWasExecuted: async () => {
        throw new Error('nope');
      },
    });
    reg.addJobListener({ name: 'fine', jobWasExecuted: () => void calls.push('jobWasExecuted') });
    reg.addTriggerListener({
      name: 't',
      triggerComplete: (_e, r) => void calls.push(`triggerComplete:${r.status}`),
    });
    await reg.executed(execution(), {
      status: 'succeeded',
      result: 1,
      error: undefined,
      durationMs: 1,
      retryAfterMs: null,
      recorded: true,
    });
    expect(calls).toEqual(['jobWasExecuted', 'triggerComplete:succeeded']);
    expect(failures).toHaveLength(1);
    expect((failures[0]!.error as Error).message).toBe('nope');
  });

  it('runs scheduler hooks beside the caller, and settle() waits for them', async () => {
    const { reg } = registry();
    let done = false;
    reg.addSchedulerListener({
      name: 's',
      leaderElected: async () => {
        await new Promise((r) => setTimeout(r, 20));
        done = true;
      },
    });
    reg.notifySchedulerInBackground('leaderElected', { instanceId: 'i', epoch: 1 });
    expect(done).toBe(false);
    await reg.settle();
    expect(done).toBe(true);
  });

  it('calls a synchronous hook synchronously (no timer, no extra turn)', () => {
    const { reg } = registry();
    let called = false;
    reg.addTriggerListener({ name: 'sync', triggerMisfired: () => void (called = true) });
    reg.triggerMisfired({
      trigger: 'nightly-report',
      group: 'reports',
      job: 'report',
      scheduledAt: new Date(0),
    });
    expect(called).toBe(true);
  });
});
