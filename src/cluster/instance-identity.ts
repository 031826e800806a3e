/**
 * This replica's identity as the replica itself sees it: the instance id it is registered under (the
 * fencing token of architecture invariant 7) and how long it may trust that registration without asking
 * the database.
 *
 * States:  registering --registered(id)--> active --fence()--> fenced --registered(newId)--> active
 *
 * Why the replica keeps its own view: the database refuses every write under a dead id, but it cannot stop
 * a handler from starting in this process. A replica stalled past dead-after (SIGSTOP, a GC pause, a frozen
 * VM) resumes holding work it acquired just before; starting it would run it beside the attempt the leader
 * re-dispatched, or run an attempt the leader already recorded as abandoned.
 *
 * What the replica can know locally: the leader declares an instance dead only when, in database time,
 *   - it has not checked in for `deadAfterMs` (the stall rule), or
 *   - its session lock has been free for `sessionGraceMs` with no check-in since (the crash rule).
 * A check-in (or the registration) is stamped by the database after this replica sent it, so, counted
 * from the monotonic time it was sent, the replica knows an instant before which it cannot have been
 * declared dead: `validUntilMs`. It is sent + deadAfter while the session stayed up since before that
 * check-in (the lock was never free), sent + sessionGrace otherwise, less a margin for clock-rate
 * differences. Before it, work may start at once; after it the verdict is `unknown`: the replica checks in
 * at once (`onUnknown`) and starts nothing until it knows. The leader is the only one that decides; this
 * only makes sure that no handler starts after the decision.
 */
import { randomUUID } from 'node:crypto';
import type { Clock } from '../time/clock.js';

export type IdentityVerdict = 'alive' | 'dead' | 'unknown';

/** What the executor pool asks before it starts work claimed under an instance id. */
export interface IdentityGuard {
  verdict(instanceId: string): IdentityVerdict;
  /** Resolves once the verdict is known; `dead` as well when `signal` aborts first. */
  settle(instanceId: string, signal: AbortSignal): Promise<'alive' | 'dead'>;
}

export interface InstanceIdentityOptions {
  clock: Clock;
  deadAfterMs: number;
  sessionGraceMs: number;
  /** Asked for when a verdict is unknown: check in now. */
  onUnknown?: () => void;
}

export class InstanceIdentity implements IdentityGuard {
  #id: string = randomUUID();
  #state: 'registering' | 'active' | 'fenced' = 'registering';
  /** Monotonic ms at which the last successful check-in (or the registration) was sent. */
  #confirmedSentMs = Number.NEGATIVE_INFINITY;
  /** Monotonic ms since which the session (and so the instance's lock) has been up; undefined while down. */
  #sessionUpSinceMs: number | undefined;
  readonly #waiters = new Set<() => void>();

  constructor(private readonly options: InstanceIdentityOptions) {}

  /** The id work is claimed under now. While fenced, the dead id (until the new registration commits). */
  get id(): string {
    return this.#id;
  }

  get state(): 'registering' | 'active' | 'fenced' {
    return this.#state;
  }

  /** Until when (monotonic ms) the leader cannot have declared this instance dead. */
  get validUntilMs(): number {
    if (this.#state !== 'active') return Number.NEGATIVE_INFINITY;
    const lockHeldThroughout =
      this.#sessionUpSinceMs !== undefined && this.#sessionUpSinceMs <= this.#confirmedSentMs;
    const bound = lockHeldThroughout
      ? this.options.deadAfterMs
      : Math.min(this.options.sessionGraceMs, this.options.deadAfterMs);
    return this.#confirmedSentMs + bound - Math.min(1_000, bound / 10);
  }

  verdict(instanceId: string): IdentityVerdict {
    if (instanceId !== this.#id || this.#state === 'fenced') return 'dead';
    if (this.#state === 'registering') return 'unknown';
    return this.options.clock.monotonicMs() < this.validUntilMs ? 'alive' : 'unknown';
  }

  async settle(instanceId: string, signal: AbortSignal): Promise<'alive' | 'dead'> {
    for (;;) {
      if (signal.aborted) return 'dead';
      const verdict = this.verdict(instanceId);
      if (verdict !== 'unknown') return verdict;
      const changed = this.#nextChange(signal);
      this.options.onUnknown?.();
      await changed;
    }
  }

  /** Registered under `id` (a new one after being fenced); `sentMs` is when the registration was sent. */
  registered(id: string, sentMs: number): void {
    this.#id = id;
    this.#state = 'active';
    this.#confirmedSentMs = sentMs;
    this.#changed();
  }

  /** A check-in sent at `sentMs` found the instance active. */
  confirmed(sentMs: number): void {
    if (this.#state !== 'active') return;
    this.#confirmedSentMs = Math.max(this.#confirmedSentMs, sentMs);
    this.#changed();
  }

  /** The instance was found declared dead. Returns false when it was already known. */
  fence(): boolean {
    if (this.#state === 'fenced') return false;
    this.#state = 'fenced';
    this.#changed();
    return true;
  }

  sessionUp(atMs: number): void {
    this.#sessionUpSinceMs ??= atMs;
  }

  sessionDown(): void {
    this.#sessionUpSinceMs = undefined;
  }

  #nextChange(signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        this.#waiters.delete(done);
        signal.removeEventListener('abort', done);
        resolve();
      };
      this.#waiters.add(done);
      signal.addEventListener('abort', done, { once: true });
    });
  }

  #changed(): void {
    for (const wake of [...this.#waiters]) wake();
  }
}
