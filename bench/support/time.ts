/**
 * Time for the benchmark harness. Every process of a run is on one machine, so wall-clock stamps taken
 * in different processes (and PostgreSQL's now()) are comparable; this is the one place bench code
 * reads ambient time, the same rule the library follows with its Clock module.
 */
import { setTimeout as delay } from 'node:timers/promises';

/** Wall-clock milliseconds since the epoch (comparable across the bench's processes). */
export function wallMs(): number {
  return Date.now();
}

/** Monotonic milliseconds, for elapsed time inside one process. */
export function monoMs(): number {
  return performance.now();
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return delay(Math.max(0, ms), undefined, signal ? { signal } : undefined).catch(() => undefined);
}

/** Sleeps until a wall-clock instant. */
export function sleepUntil(atMs: number, signal?: AbortSignal): Promise<void> {
  return sleep(atMs - wallMs(), signal);
}

/** The first whole second at least `leadMs` from now: an instant every process agrees on. */
export function nextWholeSecond(leadMs: number): number {
  return Math.ceil((wallMs() + leadMs) / 1_000) * 1_000;
}

/** Polls `check` every `everyMs` until it returns true or `timeoutMs` passes; returns whether it did. */
export async function waitFor(
  check: () => Promise<boolean>,
  options: { timeoutMs: number; everyMs?: number },
): Promise<boolean> {
  const deadline = monoMs() + options.timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (monoMs() >= deadline) return false;
    await sleep(options.everyMs ?? 200);
  }
}
