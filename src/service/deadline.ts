/**
 * Bounds a step of shutdown by the injected clock. The step is not cancelled (a query sent to a frozen
 * database cannot be taken back): the caller stops waiting for it, moves on, and is told so.
 */
import type { Clock } from '../time/clock.js';

export type DeadlineResult = 'done' | 'timed out';

export async function withinDeadline(
  clock: Clock,
  timeoutMs: number,
  work: () => Promise<unknown>,
): Promise<DeadlineResult> {
  const timer = new AbortController();
  const finished = work().then(
    () => 'done' as const,
    // The step logs its own failures; the caller only needs to know it is over.
    () => 'done' as const,
  );
  const expired = clock.sleep(Math.max(0, timeoutMs), timer.signal).then(() => 'timed out' as const);
  try {
    return await Promise.race([finished, expired]);
  } finally {
    timer.abort();
  }
}
