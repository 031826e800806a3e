/**
 * A token bucket per client address, for requests that carry no valid token (probes, failed logins,
 * everything on a loopback server without tokens). Each address gets `burst` requests at once and
 * `perSecond` more every second. Pure bookkeeping over an injected monotonic clock.
 *
 * Memory is bounded: at most `maxClients` buckets are kept; when full, buckets that have refilled (the
 * client has been quiet) are dropped first, and if none has, the oldest entry goes.
 */
export interface RateLimit {
  perSecond: number;
  burst: number;
}

export const DEFAULT_RATE_LIMIT: RateLimit = { perSecond: 100, burst: 200 };

interface Bucket {
  tokens: number;
  at: number;
}

export class RateLimiter {
  readonly #buckets = new Map<string, Bucket>();

  constructor(
    private readonly limit: RateLimit,
    private readonly nowMs: () => number,
    private readonly maxClients = 10_000,
  ) {}

  /** Takes one request from `key`'s bucket: 0 when allowed, otherwise the seconds until one is. */
  take(key: string): number {
    const now = this.nowMs();
    const bucket = this.#refilled(key, now);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) / this.limit.perSecond));
  }

  #refilled(key: string, now: number): Bucket {
    let bucket = this.#buckets.get(key);
    if (!bucket) {
      if (this.#buckets.size >= this.maxClients) this.#evict(now);
      bucket = { tokens: this.limit.burst, at: now };
      this.#buckets.set(key, bucket);
      return bucket;
    }
    const elapsed = Math.max(0, now - bucket.at) / 1000;
    bucket.tokens = Math.min(this.limit.burst, bucket.tokens + elapsed * this.limit.perSecond);
    bucket.at = now;
    return bucket;
  }

  #evict(now: number): void {
    const refillMs = (this.limit.burst / this.limit.perSecond) * 1000;
    for (const [key, bucket] of this.#buckets) if (now - bucket.at >= refillMs) this.#buckets.delete(key);
    if (this.#buckets.size >= this.maxClients) this.#buckets.delete(this.#buckets.keys().next().value!);
  }
}
