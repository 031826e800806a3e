import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { LoopService } from '../../../src/service/loop-service.js';
import { ServiceLifecycle } from '../../../src/service/service-lifecycle.js';
import { ManualClock } from '../../support/manual-clock.js';
import { seededRandom, stressStartStop } from '../../support/start-stop-stress.js';

async function settle(): Promise<void> {
  for (let i = 0; i < 20; i += 1) await Promise.resolve();
}

/** Steps that take a macrotask each, record what ran, and fail the test if two ever overlap. */
function recordingSteps() {
  const ran: string[] = [];
  let busy = false;
  const step = (name: string) => async () => {
    expect(busy, `${name} overlapped another step`).toBe(false);
    busy = true;
    ran.push(name);
    await new Promise((resolve) => setImmediate(resolve));
    busy = false;
  };
  return { ran, steps: { start: step('start'), stop: step('stop') } };
}

describe('ServiceLifecycle', () => {
  it('stop before start runs nothing; start and stop run once however often they are called', async () => {
    const { ran, steps } = recordingSteps();
    const lifecycle = new ServiceLifecycle(steps);
    await lifecycle.stop();
    const starts = [lifecycle.start(), lifecycle.start()];
    await Promise.all(starts);
    await lifecycle.start();
    expect(lifecycle.started).toBe(true);
    const stops = [lifecycle.stop(), lifecycle.stop()];
    await Promise.all(stops);
    expect(ran).toEqual(['start', 'stop']);
    expect(lifecycle.started).toBe(false);
  });

  it('a start during stop runs after it, never beside it; every caller waits for the last state', async () => {
    const { ran, steps } = recordingSteps();
    const lifecycle = new ServiceLifecycle(steps);
    const first = lifecycle.start();
    await first;
    const stopping = lifecycle.stop();
    await settle();
    const starting = lifecycle.start();
    await Promise.all([stopping, starting]);
    expect(ran).toEqual(['start', 'stop', 'start']);
    expect(lifecycle.started).toBe(true);
  });

  it('calls made during a transition collapse to the last one', async () => {
    const { ran, steps } = recordingSteps();
    const lifecycle = new ServiceLifecycle(steps);
    const calls = [lifecycle.start()];
    await settle();
    calls.push(lifecycle.stop(), lifecycle.start(), lifecycle.stop());
    await Promise.all(calls);
    expect(ran).toEqual(['start', 'stop']);
    expect(lifecycle.started).toBe(false);
  });

  it('a step that fails rejects its callers and leaves a state from which both calls run their steps', async () => {
    let failStart = true;
    const ran: string[] = [];
    const lifecycle = new ServiceLifecycle({
      start: async () => {
        ran.push('start');
        if (failStart) throw new Error('no database');
      },
      stop: async () => void ran.push('stop'),
    });
    await expect(lifecycle.start()).rejects.toThrow('no database');
    expect(lifecycle.started).toBe(false);
    await lifecycle.stop();
    failStart = false;
    await lifecycle.start();
    expect(ran).toEqual(['start', 'stop', 'start']);
    expect(lifecycle.started).toBe(true);
  });

  it('stress: a service of two loops, 1,000 cycles of start during stop and stop during start', async () => {
    const random = seededRandom(7);
    const clock = new ManualClock();
    const logger = pino({ level: 'silent' });
    const loop = (name: string) =>
      new LoopService({
        name,
        clock,
        logger,
        tick: async (signal) => {
          await clock.sleep(random() < 0.5 ? 0 : 5, signal);
          return 5;
        },
      });
    const first = loop('first');
    const second = loop('second');
    // As a leader-services group does it: start in order, stop in reverse, each step awaited.
    const lifecycle = new ServiceLifecycle({
      start: async () => {
        await first.start();
        await second.start();
      },
      stop: async () => {
        await second.stop();
        await first.stop();
      },
    });
    await stressStartStop({
      target: lifecycle,
      clock,
      random,
      started: () => [lifecycle.started, first.started, second.started],
    });
    await lifecycle.stop();
    expect([first.started, second.started]).toEqual([false, false]);
  });
});
