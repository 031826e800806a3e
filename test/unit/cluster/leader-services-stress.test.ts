/**
 * Start/stop stress for the leader-only services (issue 18 item 7): leadership comes and goes in any
 * order, so a start can land during a stop and a stop during a start. Loops get a stub tick, so 1,000
 * cycles take well under a second; after each cycle the group is up exactly when the last call said so.
 */
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { LeaderServices } from '../../../src/cluster/leader-services.js';
import { SchedulerEventBus } from '../../../src/events/scheduler-events.js';
import { LoopService } from '../../../src/service/loop-service.js';
import { ManualClock } from '../../support/manual-clock.js';

describe('LeaderServices', () => {
  it('stress: 1,000 cycles of start during stop and stop during start end as the last call asked', async () => {
    let seed = 11;
    const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
    const clock = new ManualClock();
    const logger = pino({ level: 'silent' });
    const loops: LoopService[] = [];
    const services = new LeaderServices({
      executor: {} as never,
      instanceId: () => 'me',
      epoch: () => null,
      lockNamespace: 1,
      sessionGraceMs: 1_000,
      deadAfterMs: 1_000,
      recoveryIntervalMs: 1_000,
      historyRetentionMs: 1_000,
      events: new SchedulerEventBus(),
      logger,
      // The real passes need a database; a stub tick keeps the lifecycle under test and nothing else.
      loop: (name) => {
        const loop = new LoopService({
          name,
          clock,
          logger,
          tick: async (signal) => {
            await clock.sleep(random() < 0.5 ? 0 : 5, signal);
            return 5;
          },
        });
        loops.push(loop);
        return loop;
      },
      onFenced: () => {},
      onRecovered: () => {},
    });
    expect(loops).toHaveLength(2);
    for (let cycle = 0; cycle < 1_000; cycle += 1) {
      const calls: Array<Promise<void>> = [];
      let last: 'start' | 'stop' = 'stop';
      for (let call = 0; call < 1 + Math.floor(random() * 4); call += 1) {
        last = random() < 0.5 ? 'start' : 'stop';
        calls.push(last === 'start' ? services.start() : services.stop());
        for (let i = Math.floor(random() * 4); i > 0; i -= 1) await Promise.resolve();
        if (random() < 0.3) clock.advance(5);
      }
      await Promise.all(calls);
      const up = last === 'start';
      expect(
        loops.map((loop) => loop.started),
        `cycle ${cycle}`,
      ).toEqual([up, up]);
    }
    await services.stop();
    expect(loops.map((loop) => loop.started)).toEqual([false, false]);
  });
});
