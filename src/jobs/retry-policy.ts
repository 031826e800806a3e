/**
 * Retry delays: exponential backoff with jitter (the shared backoffDelay). Pure; randomness injected.
 *
 * The delay before attempt n+1 is drawn uniformly from [base/2, base] where base = initial * factor^(n-1),
 * capped at max ("equal jitter"): retries of many failed fires spread out instead of returning together,
 * while no retry comes sooner than half its nominal delay.
 */
import { backoffDelay } from '../time/backoff.js';

export interface Backoff {
  initialMs: number;
  maxMs: number;
  factor: number;
}

export const DEFAULT_BACKOFF: Backoff = { initialMs: 1_000, maxMs: 300_000, factor: 2 };

export function resolveBackoff(partial: Partial<Backoff> | undefined): Backoff {
  return {
    ...DEFAULT_BACKOFF,
    ...Object.fromEntries(Object.entries(partial ?? {}).filter(([, v]) => v !== undefined)),
  };
}

export function retryDelayMs(
  failedAttempt: number,
  backoff: Backoff,
  random: () => number = Math.random,
): number {
  return backoffDelay({ attempt: failedAttempt, ...backoff, jitter: 'equal' }, random);
}
