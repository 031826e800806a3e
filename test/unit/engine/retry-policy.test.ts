import { describe, expect, it } from 'vitest';
import { resolveBackoff, retryDelayMs } from '../../../src/jobs/retry-policy.js';

describe('retryDelayMs', () => {
  const backoff = resolveBackoff({ initialMs: 1_000, maxMs: 10_000, factor: 2 });
  it('doubles per attempt within [base/2, base]', () => {
    expect(retryDelayMs(1, backoff, () => 0)).toBe(500);
    expect(retryDelayMs(1, backoff, () => 1)).toBe(1_000);
    expect(retryDelayMs(3, backoff, () => 1)).toBe(4_000);
  });
  it('is capped at maxMs', () => {
    expect(retryDelayMs(20, backoff, () => 1)).toBe(10_000);
  });
  it('fills defaults for what is not given', () => {
    expect(resolveBackoff({ initialMs: 200 })).toEqual({ initialMs: 200, maxMs: 300_000, factor: 2 });
  });
});
