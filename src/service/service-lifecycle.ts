/**
 * start()/stop() for a service built of steps: several loops started in order and stopped in reverse,
 * a connection opened before them, a lease resigned after them.
 *
 * Each LoopService alone already lets the last call win, but a service that awaits several of them in
 * turn does not: a start() arriving while stop() is between two loops starts the loop already stopped
 * and finds the other one still running, which stop() then stops, leaving half the service up.
 *
 * States:  stopped --start()--> starting --> started --stop()--> stopping --> stopped
 *          a step that throws leaves `unknown`, from which either call runs its steps again.
 * - Transitions never overlap: a call made during one is remembered and runs after it.
 * - The last call wins: calls made during a transition collapse to the last one, and every caller's
 *   promise resolves once the service is in the state last asked for (or rejects with the step's error).
 * - start() when started and stop() when stopped run nothing, so stop is safe before start and twice.
 * Steps must be idempotent (a LoopService's are): after `unknown`, start runs all of start's steps.
 */
type State = 'stopped' | 'started' | 'unknown';

export interface ServiceSteps {
  start: () => Promise<void>;
  stop: () => Promise<void>;
}

export class ServiceLifecycle {
  #state: State = 'stopped';
  #wanted: 'stopped' | 'started' = 'stopped';
  #settling: Promise<void> | undefined;

  constructor(private readonly steps: ServiceSteps) {}

  /** Whether the last completed transition was a start (false while one is in flight). */
  get started(): boolean {
    return this.#state === 'started' && this.#settling === undefined;
  }

  start(): Promise<void> {
    this.#wanted = 'started';
    return this.#settle();
  }

  stop(): Promise<void> {
    this.#wanted = 'stopped';
    return this.#settle();
  }

  #settle(): Promise<void> {
    if (this.#settling) return this.#settling;
    if (this.#state === this.#wanted) return Promise.resolve();
    this.#settling = this.#transition();
    return this.#settling;
  }

  async #transition(): Promise<void> {
    try {
      while (this.#state !== this.#wanted) {
        const target = this.#wanted;
        this.#state = 'unknown';
        // Through a then, so even a step that throws synchronously settles after #settling is assigned.
        await Promise.resolve().then(target === 'started' ? this.steps.start : this.steps.stop);
        this.#state = target;
      }
    } finally {
      this.#settling = undefined;
    }
  }
}
