/** LeaderElector is pure: the database's answers go in, leadership changes come out, judged on a stubbed clock. */
import { describe, expect, it } from 'vitest';
import { LeaderElector } from '../../../src/cluster/leader-elector.js';
import { ManualClock } from '../../support/manual-clock.js';

const TTL = 10_000;
const lease = (epoch: number) => ({ epoch, expiresAt: new Date('2026-01-01T00:00:10Z') });

function elector() {
  const clock = new ManualClock();
  return { clock, elector: new LeaderElector(clock, TTL) };
}

describe('LeaderElector', () => {
  it('starts as a follower with no epoch', () => {
    const { elector: e } = elector();
    expect(e.isLeader).toBe(false);
    expect(e.epoch).toBeNull();
    expect(e.observeFailure()).toBeNull();
    expect(e.reset('stop')).toBeNull();
  });

  it('is elected when a check-in returns a lease, and a renewal under the same epoch changes nothing', () => {
    const { clock, elector: e } = elector();
    expect(e.observe(lease(3), clock.monotonicMs())).toEqual({ kind: 'elected', epoch: 3 });
    expect(e.isLeader).toBe(true);
    expect(e.epoch).toBe(3);
    clock.advance(4_000);
    expect(e.observe(lease(3), clock.monotonicMs())).toBeNull();
    expect(e.epoch).toBe(3);
  });

  it('reports a new election when the epoch moved on between two renewals (lost and retaken)', () => {
    const { clock, elector: e } = elector();
    e.observe(lease(3), 0);
    expect(e.observe(lease(5), clock.monotonicMs())).toEqual({ kind: 'elected', epoch: 5 });
  });

  it('loses leadership when a check-in returns no lease, and a follower that stays one reports nothing', () => {
    const { elector: e } = elector();
    expect(e.observe(null, 0)).toBeNull();
    e.observe(lease(7), 0);
    expect(e.observe(null, 1_000)).toEqual({
      kind: 'lost',
      epoch: 7,
      reason: 'lease held by another replica',
    });
    expect(e.isLeader).toBe(false);
    expect(e.observe(null, 2_000)).toBeNull();
  });

  it('counts the lease from when the renewal was sent, not from when its answer came back', () => {
    const { clock, elector: e } = elector();
    const sent = clock.monotonicMs();
    clock.advance(3_000); // a slow round trip
    e.observe(lease(1), sent);
    clock.advance(TTL - 3_000 - 1);
    expect(e.isLeader).toBe(true);
    clock.advance(1);
    expect(e.isLeader).toBe(false);
    expect(e.epoch).toBeNull();
  });

  it('a leader cut off from the database steps down locally once its last renewal is a lease old', () => {
    const { clock, elector: e } = elector();
    e.observe(lease(2), clock.monotonicMs());
    clock.advance(TTL - 1);
    expect(e.observeFailure()).toBeNull();
    expect(e.isLeader).toBe(true);
    clock.advance(1);
    expect(e.observeFailure()).toEqual({ kind: 'lost', epoch: 2, reason: 'lease not renewed in time' });
    expect(e.observeFailure()).toBeNull();
  });

  it('a paused leader that wakes past its lease is no leader before it has asked again', () => {
    const { clock, elector: e } = elector();
    e.observe(lease(4), clock.monotonicMs());
    clock.advance(TTL * 6); // SIGSTOP, a long GC
    expect(e.isLeader).toBe(false);
    expect(e.epoch).toBeNull();
    expect(e.observe(lease(9), clock.monotonicMs())).toEqual({ kind: 'elected', epoch: 9 });
  });

  it('reset forgets leadership once, with the reason given', () => {
    const { elector: e } = elector();
    e.observe(lease(6), 0);
    expect(e.reset('fenced by a failed write')).toEqual({
      kind: 'lost',
      epoch: 6,
      reason: 'fenced by a failed write',
    });
    expect(e.reset('again')).toBeNull();
    expect(e.isLeader).toBe(false);
  });
});
