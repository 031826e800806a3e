/**
 * ServiceHost's start/stop: idempotent, safe before start and twice, and the last call wins when calls
 * overlap (style: every service gets a start/stop stress test). Nothing is left running after stop().
 */
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { ServiceHost } from '../../../src/hosted/service-host.js';
import { defineService, type ServiceContext } from '../../../src/hosted/hosted-service.js';
import { LoopService } from '../../../src/service/loop-service.js';
import { lockNamespace } from '../../../src/store/lock-keys.js';
import { systemClock } from '../../../src/time/clock.js';
import { useTestSchema } from '../../support/schema.js';

const database = useTestSchema();

class Idle {
  async run(ctx: ServiceContext) {
    await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve()));
  }
}

function host(loops: LoopService[]): ServiceHost {
  const logger = pino({ level: 'silent' });
  return new ServiceHost({
    executor: { db: database.db, schema: database.schema },
    definitions: () => [defineService('idle', Idle)],
    labels: {},
    // No registered instance: every claim answers with nothing, which is all a lifecycle test needs.
    instanceId: () => '00000000-0000-4000-8000-0000000000aa',
    timings: { heartbeatIntervalMs: 50, leaseTtlMs: 500, sessionGraceMs: 100 },
    lockNamespace: lockNamespace(database.schema),
    clock: systemClock,
    logger,
    loop: (name, tick) => {
      const loop = new LoopService({ name, tick, clock: systemClock, logger });
      loops.push(loop);
      return loop;
    },
  });
}

describe('ServiceHost lifecycle', () => {
  it('stop before start, start twice, stop twice', async () => {
    const loops: LoopService[] = [];
    const h = host(loops);
    await h.stop();
    await Promise.all([h.start(), h.start()]);
    expect(loops[0]!.started).toBe(true);
    await Promise.all([h.stop(), h.stop()]);
    expect(loops[0]!.started).toBe(false);
    expect(h.status()).toEqual([]);
  });

  it('survives a storm of overlapping calls and ends in the state last asked for', async () => {
    const loops: LoopService[] = [];
    const h = host(loops);
    const calls: Promise<void>[] = [];
    for (let i = 0; i < 50; i += 1) {
      calls.push(Math.random() < 0.5 ? h.start() : h.stop());
      if (i % 7 === 0) await new Promise((resolve) => setTimeout(resolve, 1));
    }
    calls.push(h.start());
    await Promise.all(calls);
    expect(loops[0]!.started).toBe(true);
    await h.stop();
    expect(loops[0]!.started).toBe(false);
    expect(h.claims).toBeGreaterThan(0);
  });
});
