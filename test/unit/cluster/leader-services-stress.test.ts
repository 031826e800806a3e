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
import { seededRandom, stressStartStop } from '../../support/start-stop-stress.js';

describe('LeaderServices', () => {
  it('stress: 1,000 cycles of start during stop and stop during start end as the last call asked', async () => {
    const random = seededRandom(11);
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
      createHistoryPartitions: true,
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
    await stressStartStop({
      target: services,
      clock,
      random,
      started: () => loops.map((loop) => loop.started),
    });
    await services.stop();
    expect(loops.map((loop) => loop.started)).toEqual([false, false]);
  });
});
