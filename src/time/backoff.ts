/**
 * The one backoff: how long to wait before attempt n+1 after n failures. Pure; randomness injected.
 *
 * The nominal delay is initialMs · factor^(attempt−1), capped at maxMs. Jitter spreads replicas (or
 * retries) that failed together so they do not return together:
 * - 'full':  uniform in [0, nominal]: the widest spread, for reconnect and loop retries, where an early
 *            retry is cheap;
 * - 'equal': uniform in [nominal/2, nominal]: spread, yet never sooner than half the nominal delay, for
 *            job retries and outcome writes, whose users expect roughly the delay they configured;
 * - 'none':  the nominal delay itself.
 */
export type Jitter = 'full' | 'equal' | 'none';

export interface BackoffParams {
  /** The attempt that just failed, from 1; values below 1 count as 1. */
  attempt: number;
  initialMs: number;
  maxMs: number;
  /** Growth per attempt; default 2. */
  factor?: number;
  jitter: Jitter;
}

/** A whole number of milliseconds in [0, maxMs]. `random` returns [0, 1), as Math.random does. */
export function backoffDelay(params: BackoffParams, random: () => number = Math.random): number {
  const nominal = nominalDelay(params);
  switch (params.jitter) {
    case 'none':
      return Math.round(nominal);
    case 'full':
      return Math.round(random() * nominal);
    case 'equal':
      return Math.round(nominal / 2 + (random() * nominal) / 2);
  }
}

function nominalDelay({ attempt, initialMs, maxMs, factor = 2 }: BackoffParams): number {
  const cap = Math.max(0, maxMs);
  const initial = Math.min(Math.max(0, initialMs), cap);
  if (initial === 0) return 0;
  const growth = Math.max(1, factor);
  if (growth === 1) return initial;
  // factor^(attempt−1) overflows to Infinity for a loop that has failed for days: count no more steps
  // than it takes to reach the cap.
  const stepsToCap = Math.ceil(Math.log(cap / initial) / Math.log(growth));
  const steps = Math.min(Math.max(0, Math.floor(attempt) - 1), stepsToCap);
  const delay = initial * growth ** steps;
  return Math.min(cap, delay);
}
