/** `belfry services`'s table, and the pure parts of service registration and placement. */
import { describe, expect, expectTypeOf, it } from 'vitest';
import { checkpointCell, formatUptime, servicesTable } from '../../../src/cli/services-command.js';
import { defineService, placementMatches } from '../../../src/hosted/hosted-service.js';
import { renewalMargin } from '../../../src/hosted/service-host.js';
import { createScheduler, type ServiceContext } from '../../../src/index.js';

class Noop {
  async run() {}
}

describe('services table', () => {
  it('shows holder, epoch, uptime, restarts and a short checkpoint per shard', () => {
    const row = {
      service: 'cdc',
      shard: 1,
      shards: 4,
      paused: false,
      holder: 'id-1',
      holderName: 'replica-1',
      epoch: 7,
      held: true,
      acquiredAt: new Date('2026-01-01T00:00:00Z'),
      expiresAt: new Date('2026-01-01T00:00:06Z'),
      uptimeMs: 3_723_000,
      checkpoint: { offset: 1234 },
      checkpointAt: new Date('2026-01-01T00:00:05Z'),
      restarts: 2,
    };
    const text = servicesTable([row, { ...row, shard: 2, held: false, paused: true, uptimeMs: null }]);
    const lines = text.split('\n');
    expect(lines[0]).toMatch(
      /^service\s+shard\s+holder\s+epoch\s+uptime\s+restarts\s+checkpoint\s+checkpointAt/,
    );
    expect(text).toMatch(
      /cdc\s+1\/4\s+replica-1\s+7\s+1h02m\s+2\s+\{"offset":1234\}\s+2026-01-01T00:00:05.000Z/,
    );
    expect(text).toMatch(/cdc \(paused\)\s+2\/4\s+-\s+7/);
  });

  it('formats uptimes and cuts long checkpoints', () => {
    expect(formatUptime(null)).toBe('');
    expect(formatUptime(59_999)).toBe('59s');
    expect(formatUptime(61_000)).toBe('1m01s');
    expect(checkpointCell(null)).toBe('');
    expect(checkpointCell({ text: 'x'.repeat(100) })).toHaveLength(40);
  });
});

describe('service definitions', () => {
  it('fills defaults and validates', () => {
    const d = defineService('cdc', Noop);
    expect(d).toMatchObject({ shards: 1, stopTimeoutMs: 10_000, placement: 'any' });
    expect(d.restart).toEqual({ initialMs: 1_000, maxMs: 30_000, maxFailures: 5, windowMs: 60_000 });
    expect(() => defineService('', Noop)).toThrow(
      expect.objectContaining({ code: 'BELFRY_ERR_SERVICE_REGISTRY' }),
    );
    expect(() => defineService('x', Noop, { shards: 1.5 })).toThrow(/shards/);
    expect(() => defineService('x', Noop, { restart: { maxFailures: 0 } })).toThrow(/restart/);
  });

  it('places by labels', () => {
    expect(placementMatches('any', {})).toBe(true);
    expect(placementMatches({ labels: { zone: 'a' } }, { zone: 'a', tier: 'x' })).toBe(true);
    expect(placementMatches({ labels: { zone: 'a' } }, { zone: 'b' })).toBe(false);
    expect(placementMatches({ labels: { zone: 'a' } }, {})).toBe(false);
  });

  it('gives a lease up a little before the database expires it', () => {
    expect(renewalMargin(6_000)).toBe(300);
    expect(renewalMargin(60_000)).toBe(1_000);
  });
});

describe('service types', () => {
  it('types a service class, its context and its registration', async () => {
    type Ctx = ServiceContext<{ table: string }, { lsn: string }>;
    class Cdc {
      async run(ctx: Ctx) {
        expectTypeOf(ctx.data.table).toEqualTypeOf<string>();
        expectTypeOf(ctx.epoch).toEqualTypeOf<number>();
        expectTypeOf(ctx.checkpoint.get).returns.toEqualTypeOf<Promise<{ lsn: string } | null>>();
        expectTypeOf(ctx.checkpoint.set).parameter(0).toEqualTypeOf<{ lsn: string }>();
        expectTypeOf(ctx.signal).toEqualTypeOf<AbortSignal>();
      }
    }
    const scheduler = createScheduler({ connectionString: 'postgres://localhost/none' });
    expectTypeOf(
      scheduler.registerService('cdc', Cdc, { shards: 4, data: { table: 'orders' } }),
    ).toEqualTypeOf<typeof scheduler>();
    expect(scheduler.serviceNames).toEqual(['cdc']);
    await scheduler.stop();
  });
});
