/** `belfry dev`'s view of a replica's log: a service shard's start, stop and failures name it. */
import { describe, expect, it } from 'vitest';
import { formatReplicaLine } from '../../../src/dev/replica-log-line.js';

const line = (fields: Record<string, unknown>) =>
  formatReplicaLine(
    JSON.stringify({ level: 30, time: '2026-11-30T08:00:00.000Z', ...fields }),
    'replica-1',
    '',
  );

describe('service lines in belfry dev', () => {
  it('name the service and shard of a start, with its epoch', () => {
    expect(
      line({ msg: 'service shard started', service: 'orders-cdc', shard: 2, epoch: 7, kind: 'free' }),
    ).toMatch(/^08:00:00.000  replica-1.*· service orders-cdc shard 2 started \(epoch 7\)$/);
  });

  it('name the service and shard of a stop, with its reason', () => {
    expect(
      line({ msg: 'service shard stopped', service: 'orders-cdc', shard: 0, epoch: 3, reason: 'rebalanced' }),
    ).toMatch(/· service orders-cdc shard 0 stopped \(epoch 3, rebalanced\)$/);
  });

  it('name the service and shard of a crash or a lost lease, with the error', () => {
    expect(
      line({ level: 40, msg: 'service run crashed', service: 'feed', shard: 1, err: { message: 'boom' } }),
    ).toContain('service feed shard 1: crashed (boom)');
    expect(
      line({
        level: 40,
        msg: 'service lease not renewed in time; stopping the shard',
        service: 'feed',
        shard: 0,
        epoch: 4,
      }),
    ).toContain('service feed shard 0: lease not renewed in time; stopping the shard (epoch 4)');
  });

  it('leave alone the lines of components that call themselves a service', () => {
    expect(line({ msg: 'server listening', service: 'admin-server', url: 'http://127.0.0.1:1' })).toMatch(
      /· server listening http:\/\/127\.0\.0\.1:1$/,
    );
    expect(line({ msg: 'service leases claimed', held: 2 })).toBeUndefined();
  });
});
