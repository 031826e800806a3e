/**
 * A Clock that tests move by hand: time stands still until `advance(ms)`, and a sleep resolves when the
 * clock has advanced past its end or its signal aborts (as systemClock's does). No global fake timers, so
 * pg, pino and vitest keep their own.
 */
import type { Clock } from '../../src/time/clock.js';

interface Sleeper {
  until: number;
  resolve: () => void;
}

export class ManualClock implements Clock {
  #mono = 0;
  #wallMs: number;
  #sleepers = new Set<Sleeper>();
  /** Every sleep asked for, in ms, in order. */
  readonly sleeps: number[] = [];

  constructor(start = new Date('2026-01-01T00:00:00Z')) {
    this.#wallMs = start.getTime();
  }

  now(): Date {
    return new Date(this.#wallMs);
  }

  monotonicMs(): number {
    return this.#mono;
  }

  /** How many sleeps are waiting now. */
  get sleeping(): number {
    return this.#sleepers.size;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    this.sleeps.push(ms);
    return new Promise<void>((resolve) => {
      if (signal?.aborted) return resolve();
      const sleeper: Sleeper = { until: this.#mono + Math.max(0, ms), resolve: () => done() };
      const done = () => {
        this.#sleepers.delete(sleeper);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      signal?.addEventListener('abort', done, { once: true });
      this.#sleepers.add(sleeper);
      if (ms <= 0) done();
    });
  }

  /** Moves both clocks on by `ms` and wakes every sleep that has ended. */
  advance(ms: number): void {
    this.#mono += ms;
    this.#wallMs += ms;
    for (const sleeper of [...this.#sleepers]) if (sleeper.until <= this.#mono) sleeper.resolve();
  }
}
