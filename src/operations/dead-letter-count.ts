/**
 * The `belfry_dead_letters` gauge's value: the number of dead letters, counted by the database at most
 * once per `maxAgeMs` (default 15 s). A scrape never waits for the database: it reads the last count
 * (null until the first one is in) and, when that count is stale, starts a new one in the background.
 */
import { countDeadLetters } from '../store/operation-store.js';
import type { Executor } from '../store/executor.js';
import type { Clock } from '../time/clock.js';

export class DeadLetterCount {
  #value: number | null = null;
  #countedAtMs = -Infinity;
  #counting = false;

  constructor(private readonly options: { executor: Executor; clock: Clock; maxAgeMs?: number }) {}

  current(): number | null {
    const { clock, executor } = this.options;
    if (!this.#counting && clock.monotonicMs() - this.#countedAtMs >= (this.options.maxAgeMs ?? 15_000)) {
      this.#counting = true;
      void countDeadLetters(executor)
        .then((count) => {
          this.#value = count;
          this.#countedAtMs = clock.monotonicMs();
        })
        // A failed count keeps the last value; the next scrape tries again.
        .catch(() => {})
        .finally(() => {
          this.#counting = false;
        });
    }
    return this.#value;
  }
}
