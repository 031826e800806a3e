/**
 * Every background loop in Belfry is one of these.
 *
 * State machine:  idle --start()--> running --stop()--> stopping --(loop exits)--> idle
 *                  stopping --start()--> stopping, restart pending --(loop exits)--> running
 * - start() is idempotent; the first tick runs at once, so nobody waits an interval for the first result.
 * - The last call wins. A start() during a stop() cannot reuse the exiting loop (its signal is aborted),
 *   so it waits for that loop to exit and then starts a fresh one; a stop() before that cancels the
 *   restart. The promise start() returns resolves once the loop runs (at once, unless it had to wait).
 * - stop() is safe before start() and twice; concurrent callers share one promise, which resolves when
 *   the loop has exited (the in-flight tick is awaited; its signal is aborted so it can cut waits short).
 * - tick(signal) does the work and returns how long to wait before the next tick; wake() cuts a wait
 *   short (a NOTIFY, a freed executor slot). A wake during a tick is remembered, never lost.
 * - A failing tick is logged and counted, then retried with exponential backoff and full jitter; the
 *   loop never dies of an error, and never spins: a database outage means a quiet retry, not a crash.
 */
import type { Logger } from 'pino';
import { backoffDelay } from '../time/backoff.js';
import type { Clock } from '../time/clock.js';
import { classifyDatabaseError } from '../store/errors.js';

/** The reason a wake gives the sleep it ends (one shared value: nothing reads it). */
const WOKEN = 'woken';

export interface LoopServiceOptions {
  name: string;
  tick: (signal: AbortSignal) => Promise<number>;
  clock: Clock;
  logger: Logger;
  errorBackoff?: { initialMs: number; maxMs: number };
  random?: () => number;
  /** Called once per failed tick, and once when a tick succeeds again after failures. */
  onError?: (error: unknown, kind: ReturnType<typeof classifyDatabaseError>) => void;
  onRecovered?: () => void;
}

export class LoopService {
  readonly name: string;
  #running: Promise<void> | undefined;
  #stopping: Promise<void> | undefined;
  #stop = new AbortController();
  #sleep: AbortController | undefined;
  #wakeRequested = false;
  #failures = 0;
  /** What the last start()/stop() asked for; a restart pending behind a stop reads it when the stop ends. */
  #wanted = false;
  #restart: Promise<void> | undefined;

  constructor(private readonly options: LoopServiceOptions) {
    this.name = options.name;
  }

  get started(): boolean {
    return this.#running !== undefined && !this.#stop.signal.aborted;
  }

  get consecutiveFailures(): number {
    return this.#failures;
  }

  start(): Promise<void> {
    this.#wanted = true;
    if (this.#stopping) {
      this.#restart ??= this.#stopping
        .catch(() => undefined)
        .then(() => {
          this.#restart = undefined;
          if (this.#wanted && !this.#running) this.#begin();
        });
      return this.#restart;
    }
    if (!this.#running) this.#begin();
    return Promise.resolve();
  }

  stop(): Promise<void> {
    this.#wanted = false;
    if (this.#stopping) return this.#stopping;
    if (!this.#running) return Promise.resolve();
    const running = this.#running;
    this.#stopping = (async () => {
      this.#stop.abort();
      this.#sleep?.abort();
      try {
        await running;
      } finally {
        this.#running = undefined;
        this.#stopping = undefined;
      }
    })();
    return this.#stopping;
  }

  #begin(): void {
    this.#stop = new AbortController();
    this.#running = this.#loop();
  }

  wake(): void {
    this.#wakeRequested = true;
    // Only a sleep not yet woken: abort() builds its default reason, a DOMException with a stack trace,
    // even on an aborted controller (~4 µs and garbage), and a freed executor slot wakes once per execution.
    if (this.#sleep && !this.#sleep.signal.aborted) this.#sleep.abort(WOKEN);
  }

  async #loop(): Promise<void> {
    const { clock, logger } = this.options;
    const signal = this.#stop.signal;
    while (!signal.aborted) {
      let waitMs: number;
      this.#wakeRequested = false;
      try {
        waitMs = await this.options.tick(signal);
        if (this.#failures > 0) {
          logger.info({ service: this.name, failures: this.#failures }, 'service recovered');
          this.options.onRecovered?.();
        }
        this.#failures = 0;
      } catch (error) {
        if (signal.aborted) break;
        this.#failures += 1;
        const kind = classifyDatabaseError(error);
        const { initialMs, maxMs } = this.options.errorBackoff ?? { initialMs: 200, maxMs: 10_000 };
        waitMs = backoffDelay(
          { attempt: this.#failures, initialMs, maxMs, jitter: 'full' },
          this.options.random ?? Math.random,
        );
        logger.warn(
          { service: this.name, err: error, kind, failures: this.#failures, retryInMs: waitMs },
          'service tick failed',
        );
        this.options.onError?.(error, kind);
      }
      if (signal.aborted) break;
      if (waitMs > 0 && !this.#wakeRequested) {
        this.#sleep = new AbortController();
        if (this.#wakeRequested) this.#sleep.abort();
        await clock.sleep(waitMs, this.#sleep.signal);
        this.#sleep = undefined;
      }
    }
  }
}
