/**
 * The only module that reads ambient time.
 *
 * A replica's local clock decides nothing that crosses replicas: due-ness, heartbeats, lease expiry and
 * dead-instance detection are judged by PostgreSQL's clock (invariant 2). Local time is used for two
 * things only: how long to sleep (monotonic, so a wall-clock jump cannot stretch a sleep) and stamps in
 * logs. Tests inject their own Clock to control both.
 */
export interface Clock {
  /** Wall-clock time, for logs and for pure computations that need a "now" (previews). */
  now(): Date;
  /** Monotonic milliseconds, for measuring elapsed time. */
  monotonicMs(): number;
  /** Resolves after `ms`, or early (without rejecting) when `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => new Date(),
  monotonicMs: () => performance.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve) => {
      if (signal?.aborted) return resolve();
      const timer = setTimeout(done, Math.max(0, ms));
      signal?.addEventListener('abort', done, { once: true });
      function done() {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        resolve();
      }
    }),
};
