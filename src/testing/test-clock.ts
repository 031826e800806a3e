/**
 * The Node side of the testing kit's clock: the system clock plus an offset that only grows, the same
 * offset the test schema's `belfry_now()` adds to PostgreSQL's clock (store/test-clock-store.ts). Both
 * sides flow at real speed between jumps, so the replicas' sleeps, leases and timeouts keep their
 * meaning; a jump wakes every sleep whose end it passed, as time passing would.
 */
import { systemClock, type Clock } from '../time/clock.js';

interface Sleeper {
  untilMono: number;
  wake: () => void;
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

  /** Moves time forward by setting the offset (a smaller one is ignored) and wakes the sleeps that ended. */
  setOffset(offsetMs: number): void {
    this.#offsetMs = Math.max(this.#offsetMs, offsetMs);
    const mono = this.monotonicMs();
    for (const sleeper of [...this.#sleepers]) if (sleeper.untilMono <= mono) sleeper.wake();
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve) => {
      if (signal?.aborted) return resolve();
      let timer: NodeJS.Timeout | undefined;
      const sleeper: Sleeper = { untilMono: this.monotonicMs() + Math.max(0, ms), wake: () => done() };
      const arm = () => {
        const left = sleeper.untilMono - this.monotonicMs();
        if (left <= 0) return done();
        timer = setTimeout(arm, Math.min(left, MAX_TIMER_MS));
      };
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
