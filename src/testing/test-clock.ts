/**
 * The Node side of the testing kit's clock: the system clock plus an offset that only grows, the same
 * offset the test schema's `belfry_now()` adds to PostgreSQL's clock (store/test-clock-store.ts). Both
 * sides flow at real speed between jumps, so the replicas' sleeps, leases and timeouts keep their
 * meaning; a jump wakes every sleep whose end it passed, as time passing would.
 */
import { systemClock, type Clock } from '../time/clock.js';

interface Sleeper {
  untilMono: number;
  /** Re-arms the real timer for the time left (it shrank with the jump), or wakes when none is. */
  arm: () => void;
}

/** setTimeout's limit; a longer sleep re-arms. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export class TestClock implements Clock {
  #offsetMs: number;
  readonly #sleepers = new Set<Sleeper>();

  constructor(offsetMs = 0) {
    this.#offsetMs = offsetMs;
  }

  get offsetMs(): number {
    return this.#offsetMs;
  }

  now(): Date {
    return new Date(systemClock.now().getTime() + this.#offsetMs);
  }

  monotonicMs(): number {
    return systemClock.monotonicMs() + this.#offsetMs;
  }

  /** The offset that makes `now()` read `at` at this moment. */
  offsetFor(at: Date): number {
    return at.getTime() - systemClock.now().getTime();
  }

  /**
   * Moves time forward by setting the offset (a smaller one is ignored): the sleeps that ended wake, the
   * others wait only for what is left of them.
   */
  setOffset(offsetMs: number): void {
    this.#offsetMs = Math.max(this.#offsetMs, offsetMs);
    for (const sleeper of [...this.#sleepers]) sleeper.arm();
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve) => {
      if (signal?.aborted) return resolve();
      let timer: NodeJS.Timeout | undefined;
      const arm = () => {
        if (timer) clearTimeout(timer);
        const left = sleeper.untilMono - this.monotonicMs();
        if (left <= 0) return done();
        timer = setTimeout(arm, Math.min(left, MAX_TIMER_MS));
      };
      const sleeper: Sleeper = { untilMono: this.monotonicMs() + Math.max(0, ms), arm };
      const done = () => {
        if (timer) clearTimeout(timer);
        this.#sleepers.delete(sleeper);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      signal?.addEventListener('abort', done, { once: true });
      this.#sleepers.add(sleeper);
      arm();
    });
  }
}
