import { describe, expect, it } from 'vitest';
import {
  checkMisfirePolicies,
  type FireDecision,
  type MisfirePolicy,
} from '../../../src/audit/misfire-checker.js';

const T0 = Date.parse('2030-01-01T00:00:00Z');
const at = (ms: number) => new Date(T0 + ms);
const window = { since: at(0), until: at(600_000) };

/**
 * A 1 s trigger paused from 10 s to 40 s and decided at 40.5 s: fires 10..40 are the outage; `runs`
 * lists which of them ran; later fires run on time.
 */
function outage(runs: number[], options: { chunkAt?: number } = {}): FireDecision[] {
  const fires: FireDecision[] = [];
  for (let s = 0; s < 60; s += 1) {
    const scheduledAt = at(s * 1000);
    if (s < 10 || s > 40) fires.push({ scheduledAt, firedAt: scheduledAt, firstStatus: 'succeeded' });
    else {
      // A second chunk is recorded a little later, as the old planner did at its chunk boundary.
      const firedAt = at(options.chunkAt !== undefined && s >= options.chunkAt ? 40_600 : 40_500);
      fires.push({ scheduledAt, firedAt, firstStatus: runs.includes(s) ? 'succeeded' : 'misfired' });
    }
  }
  return fires;
}

const check = (policy: MisfirePolicy, fires: FireDecision[], counted = false) =>
  checkMisfirePolicies([{ name: 't', policy, counted, fires }], { window, catchUpMax: 10 });

describe('checkMisfirePolicies', () => {
  it('accepts each policy run as Quartz decides it: skip none, fire-once-now the last, fire-all the last 10', () => {
    expect(check('skip', outage([]))).toEqual({ outages: 1, violations: [] });
    expect(check('fire-once-now', outage([40])).violations).toEqual([]);
    expect(check('fire-all', outage([31, 32, 33, 34, 35, 36, 37, 38, 39, 40])).violations).toEqual([]);
  });

  it('flags skip running a missed fire (the fires after a chunk boundary judged on time)', () => {
    const bad = check('skip', outage([35, 36, 37, 38, 39, 40], { chunkAt: 35 }));
    expect(bad.violations.map((v) => v.detail)).toEqual(['skip ran 6 missed fires']);
  });

  it('flags fire-once-now running several, or none', () => {
    expect(check('fire-once-now', outage([39, 40])).violations.map((v) => v.detail)).toEqual([
      'fire-once-now ran 2 missed fires',
    ]);
    expect(check('fire-once-now', outage([])).violations.map((v) => v.detail)).toEqual([
      'fire-once-now ran none of the missed fires',
    ]);
    // A counted trigger may have spent its fires; a forbid skip was let through by the policy.
    expect(check('fire-once-now', outage([]), true).violations).toEqual([]);
    const skipped = outage([]);
    skipped[40] = { ...skipped[40]!, firstStatus: 'skipped' };
    expect(check('fire-once-now', skipped).violations).toEqual([]);
  });

  it('flags fire-all running more than its cap', () => {
    const eleven = [30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40];
    expect(check('fire-all', outage(eleven)).violations.map((v) => v.detail)).toEqual([
      'fire-all ran 11 missed fires, more than its cap of 10',
    ]);
  });

  it('tells two outages apart', () => {
    const fires = outage([]).concat(
      [70, 71, 72].map((s) => ({ scheduledAt: at(s * 1000), firedAt: at(72_500), firstStatus: 'misfired' })),
    );
    expect(check('skip', fires)).toEqual({ outages: 2, violations: [] });
  });
});
