/**
 * Leader election by a lease row with fencing epochs.
 *
 * Design note
 * -----------
 * One row (`leader`) holds the lease: holder, epoch, acquired_at, expires_at, all in database time. A
 * replica's check-in transaction also runs `acquireOrRenewLease`, which
 *   - renews the lease when this replica holds it and it has not expired;
 *   - takes it, incrementing `epoch`, when it is free, expired, or its holder is gone (the holder's
 *     session advisory lock is free and it has not checked in for `holderGraceMs`: a crashed leader is
 *     replaced at the next check-in of any replica, not after a whole lease).
 * A graceful stop resigns (holder = NULL) and NOTIFYs, so a peer takes over at once.
 *
 * States:   follower --lease taken--> leader --renewal failed / lease seen lost / stop--> follower
 *
 * Why it is safe: every leader-only write runs in a transaction that first locks the lease row FOR SHARE
 * and checks `holder = me AND epoch = mine AND expires_at > now()` (`holdsLease`), and stamps its rows
 * with that epoch. A takeover must UPDATE that row, so it waits for any such transaction to finish, and
 * after it no write under the old epoch can pass the check. A leader paused past its lease (SIGSTOP, a
 * long GC) therefore does nothing when it wakes: its next write fails the fence, its next renewal finds a
 * newer epoch, and it steps down. Local timers only decide when to ask; the database decides the answer,
 * so clock skew between replicas cannot produce two leaders that both write.
 *
 * Locally a leader also steps down when its last successful renewal is older than the lease (measured
 * on the monotonic clock from when the renewal was *sent*), so a leader cut off from the database stops
 * its leader-only services even before it can talk to the database again.
 */
import type { Clock } from '../time/clock.js';
import type { Lease } from '../store/leader-store.js';

export type LeadershipChange =
  { kind: 'elected'; epoch: number } | { kind: 'lost'; epoch: number; reason: string } | null;

export class LeaderElector {
  #epoch: number | null = null;
  #validUntilMono = 0;

  constructor(
    private readonly clock: Clock,
    private readonly leaseTtlMs: number,
  ) {}

  get isLeader(): boolean {
    return this.#epoch !== null && this.clock.monotonicMs() < this.#validUntilMono;
  }

  get epoch(): number | null {
    return this.isLeader ? this.#epoch : null;
  }

  /** Feeds the result of a check-in's lease query (sent at `sentAtMono`); returns what changed. */
  observe(lease: Lease | null, sentAtMono: number): LeadershipChange {
    const previous = this.#epoch;
    if (lease) {
      this.#validUntilMono = sentAtMono + this.leaseTtlMs;
      this.#epoch = lease.epoch;
      if (previous === lease.epoch) return null;
      return { kind: 'elected', epoch: lease.epoch };
    }
    this.#epoch = null;
    return previous === null
      ? null
      : { kind: 'lost', epoch: previous, reason: 'lease held by another replica' };
  }

  /** Called when a check-in failed: steps down once the lease may have expired. */
  observeFailure(): LeadershipChange {
    if (this.#epoch !== null && this.clock.monotonicMs() >= this.#validUntilMono) {
      const epoch = this.#epoch;
      this.#epoch = null;
      return { kind: 'lost', epoch, reason: 'lease not renewed in time' };
    }
    return null;
  }

  /** Forget leadership (resigned, or fenced by a failed write). */
  reset(reason: string): LeadershipChange {
    if (this.#epoch === null) return null;
    const epoch = this.#epoch;
    this.#epoch = null;
    return { kind: 'lost', epoch, reason };
  }
}
