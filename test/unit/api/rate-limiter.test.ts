/** The per-address token bucket, on a clock the test moves. */
import { describe, expect, it } from 'vitest';
import { RateLimiter } from '../../../src/api/rate-limiter.js';

describe('RateLimiter', () => {
  it('allows a burst, then refills at the rate, per key', () => {
    let now = 0;
    const limiter = new RateLimiter({ perSecond: 2, burst: 3 }, () => now);
    expect([1, 2, 3, 4].map(() => limiter.take('a'))).toEqual([0, 0, 0, 1]);
    expect(limiter.take('b')).toBe(0);
    now += 500; // one more request's worth
    expect(limiter.take('a')).toBe(0);
    expect(limiter.take('a')).toBe(1);
    now += 10_000; // refills to the burst, no further
    expect([1, 2, 3, 4].map(() => limiter.take('a'))).toEqual([0, 0, 0, 1]);
  });

  it('keeps at most maxClients buckets, dropping quiet ones first', () => {
    let now = 0;
    const limiter = new RateLimiter({ perSecond: 1, burst: 1 }, () => now, 2);
    limiter.take('a');
    now += 5_000;
    limiter.take('b');
    limiter.take('c'); // evicts a (refilled), keeps b
    expect(limiter.take('b')).toBe(1);
    expect(limiter.take('a')).toBe(0); // a new bucket
  });
});
