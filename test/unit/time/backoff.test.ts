import { describe, expect, it } from 'vitest';
import { backoffDelay, type BackoffParams, type Jitter } from '../../../src/time/backoff.js';

const base = { initialMs: 100, maxMs: 1_000, factor: 2 } as const;
const at = (attempt: number, jitter: Jitter, extra: Partial<BackoffParams> = {}) => ({
  ...base,
  attempt,
  jitter,
  ...extra,
});
const low = () => 0;
const high = () => 0.999_999;
const mid = () => 0.5;

describe('backoffDelay: the nominal delay', () => {
  it('starts at initialMs and grows by factor per failed attempt', () => {
    expect([1, 2, 3, 4].map((attempt) => backoffDelay(at(attempt, 'none')))).toEqual([100, 200, 400, 800]);
    expect(backoffDelay(at(3, 'none', { factor: 3 }))).toBe(900);
  });
  it('is capped at maxMs, and stays there for any attempt count (no overflow to Infinity or NaN)', () => {
    expect(backoffDelay(at(5, 'none'))).toBe(1_000);
    expect(backoffDelay(at(10_000, 'none'))).toBe(1_000);
    expect(backoffDelay(at(Number.MAX_SAFE_INTEGER, 'full'), high)).toBe(1_000);
  });
  it('defaults factor to 2', () => {
    expect(backoffDelay({ attempt: 3, initialMs: 100, maxMs: 1_000, jitter: 'none' })).toBe(400);
  });
  it('counts an attempt below 1 as the first', () => {
    expect(backoffDelay(at(0, 'none'))).toBe(100);
    expect(backoffDelay(at(-3, 'none'))).toBe(100);
  });
  it('never grows with a factor of 1 or less, and never shrinks', () => {
    expect(backoffDelay(at(50, 'none', { factor: 1 }))).toBe(100);
    expect(backoffDelay(at(50, 'none', { factor: 0.5 }))).toBe(100);
  });
  it('is 0 when initialMs or maxMs is 0 or negative, and initialMs above maxMs is capped', () => {
    expect(backoffDelay(at(4, 'full', { initialMs: 0 }), high)).toBe(0);
    expect(backoffDelay(at(4, 'equal', { maxMs: 0 }), high)).toBe(0);
    expect(backoffDelay(at(4, 'none', { initialMs: -5 }))).toBe(0);
    expect(backoffDelay(at(1, 'none', { initialMs: 5_000 }))).toBe(1_000);
  });
});

describe('backoffDelay: jitter', () => {
  it("'full' draws from [0, nominal]", () => {
    expect(backoffDelay(at(3, 'full'), low)).toBe(0);
    expect(backoffDelay(at(3, 'full'), mid)).toBe(200);
    expect(backoffDelay(at(3, 'full'), high)).toBe(400);
  });
  it("'equal' draws from [nominal/2, nominal]", () => {
    expect(backoffDelay(at(3, 'equal'), low)).toBe(200);
    expect(backoffDelay(at(3, 'equal'), mid)).toBe(300);
    expect(backoffDelay(at(3, 'equal'), high)).toBe(400);
  });
  it("'none' ignores random", () => {
    let calls = 0;
    expect(backoffDelay(at(2, 'none'), () => (calls += 1))).toBe(200);
    expect(calls).toBe(0);
  });
  it('returns whole milliseconds within [0, maxMs] for any random draw and attempt', () => {
    for (const jitter of ['full', 'equal', 'none'] as const) {
      for (let attempt = 1; attempt <= 40; attempt += 1) {
        for (const draw of [0, 0.123_456, 0.5, 0.999_999]) {
          const delay = backoffDelay(
            at(attempt, jitter, { initialMs: 7, maxMs: 3_333, factor: 1.7 }),
            () => draw,
          );
          expect(Number.isInteger(delay)).toBe(true);
          expect(delay).toBeGreaterThanOrEqual(0);
          expect(delay).toBeLessThanOrEqual(3_333);
        }
      }
    }
  });
  it('uses Math.random when no random is given', () => {
    const delay = backoffDelay(at(3, 'full'));
    expect(delay).toBeGreaterThanOrEqual(0);
    expect(delay).toBeLessThanOrEqual(400);
  });
});
