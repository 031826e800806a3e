import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { LoopService, type LoopServiceOptions } from '../../../src/service/loop-service.js';
import { ManualClock } from '../../support/manual-clock.js';

const logger = pino({ level: 'silent' });

/** Lets every queued promise callback run (the loop's awaits are all on settled promises or the clock). */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i += 1) await Promise.resolve();
}

/** A tick the test finishes by hand, recording the signal each call got. */
function heldTicks() {
  const calls: Array<{
    signal: AbortSignal;
    finish: (waitMs: number) => void;
    fail: (error: unknown) => void;
  }> = [];
  const tick = (signal: AbortSignal) =>
    new Promise<number>((resolve, reject) => calls.push({ signal, finish: resolve, fail: reject }));
  return { calls, tick };
}

function service(
  options: Partial<LoopServiceOptions> & Pick<LoopServiceOptions, 'tick'>,
  clock = new ManualClock(),
) {
  return { clock, loop: new LoopService({ name: 'test', clock, logger, ...options }) };
}

describe('LoopService', () => {
  it('ticks once at start, then after the wait the tick returned', async () => {
    const { calls, tick } = heldTicks();
    const { clock, loop } = service({ tick });
    await loop.start();
    expect(calls).toHaveLength(1);
    expect(loop.started).toBe(true);
    calls[0]!.finish(1_000);
    await settle();
    expect(clock.sleeps).toEqual([1_000]);
    clock.advance(999);
    await settle();
    expect(calls).toHaveLength(1);
    clock.advance(1);
    await settle();
    expect(calls).toHaveLength(2);
    calls[1]!.finish(0);
    await settle();
    expect(calls).toHaveLength(3);
    const stopped = loop.stop();
    calls[2]!.finish(0);
    await stopped;
  });

  it('start is idempotent: a second start runs no second loop', async () => {
    const { calls, tick } = heldTicks();
    const { loop } = service({ tick });
    await loop.start();
    await loop.start();
    expect(calls).toHaveLength(1);
    const stopped = loop.stop();
    calls[0]!.finish(0);
    await stopped;
  });

  it('stop is safe before start and twice; concurrent stops share one promise', async () => {
    const { calls, tick } = heldTicks();
    const { loop } = service({ tick });
    await loop.stop();
    await loop.start();
    const first = loop.stop();
    const second = loop.stop();
    expect(second).toBe(first);
    calls[0]!.finish(0);
    await first;
    await loop.stop();
    expect(loop.started).toBe(false);
  });

  it('stop aborts the tick signal and resolves only when the in-flight tick has returned', async () => {
    const { calls, tick } = heldTicks();
    const { loop } = service({ tick });
    await loop.start();
    let stopped = false;
    const stopping = loop.stop().then(() => (stopped = true));
    await settle();
    expect(calls[0]!.signal.aborted).toBe(true);
    expect(stopped).toBe(false);
    calls[0]!.finish(5_000);
    await stopping;
    expect(stopped).toBe(true);
    expect(calls).toHaveLength(1);
  });

  it('stop cuts a sleep short', async () => {
    const { calls, tick } = heldTicks();
    const { clock, loop } = service({ tick });
    await loop.start();
    calls[0]!.finish(60_000);
    await settle();
    expect(clock.sleeping).toBe(1);
    await loop.stop();
    expect(clock.sleeping).toBe(0);
    expect(calls).toHaveLength(1);
  });

  it('wake cuts a sleep short, and a wake during a tick is remembered', async () => {
    const { calls, tick } = heldTicks();
    const { clock, loop } = service({ tick });
    await loop.start();
    calls[0]!.finish(60_000);
    await settle();
    loop.wake();
    await settle();
    expect(calls).toHaveLength(2);
    loop.wake();
    calls[1]!.finish(60_000);
    await settle();
    expect(calls).toHaveLength(3);
    expect(clock.sleeps).toEqual([60_000]);
    const stopped = loop.stop();
    calls[2]!.finish(0);
    await stopped;
  });

  it('a failing tick is reported, backed off with full jitter growing to the cap, and the loop goes on', async () => {
    const errors: unknown[] = [];
    let recovered = 0;
    const { calls, tick } = heldTicks();
    const { clock, loop } = service({
      tick,
      errorBackoff: { initialMs: 100, maxMs: 350 },
      random: () => 0.5,
      onError: (error) => errors.push(error),
      onRecovered: () => (recovered += 1),
    });
    await loop.start();
    for (let failure = 1; failure <= 4; failure += 1) {
      calls[failure - 1]!.fail(new Error(`boom ${failure}`));
      await settle();
      expect(loop.consecutiveFailures).toBe(failure);
      clock.advance(1_000);
      await settle();
    }
    expect(clock.sleeps).toEqual([50, 100, 175, 175]);
    expect(errors.map((error) => (error as Error).message)).toEqual(['boom 1', 'boom 2', 'boom 3', 'boom 4']);
    calls[4]!.finish(60_000);
    await settle();
    expect(loop.consecutiveFailures).toBe(0);
    expect(recovered).toBe(1);
    await loop.stop();
  });

  it('an error thrown because of the stop is not counted as a failure', async () => {
    const errors: unknown[] = [];
    const { calls, tick } = heldTicks();
    const { loop } = service({ tick, onError: (error) => errors.push(error) });
    await loop.start();
    const stopped = loop.stop();
    calls[0]!.fail(new Error('aborted'));
    await stopped;
    expect(errors).toEqual([]);
  });

  it('start during stop: the loop runs again once the old one has exited, with a fresh signal', async () => {
    const { calls, tick } = heldTicks();
    const { loop } = service({ tick });
    await loop.start();
    const stopped = loop.stop();
    const restarted = loop.start();
    calls[0]!.finish(0);
    await stopped;
    await restarted;
    expect(loop.started).toBe(true);
    expect(calls).toHaveLength(2);
    expect(calls[1]!.signal.aborted).toBe(false);
    const last = loop.stop();
    calls[1]!.finish(0);
    await last;
    expect(loop.started).toBe(false);
  });

  it('stop after a start during stop cancels the restart: the last call wins', async () => {
    const { calls, tick } = heldTicks();
    const { loop } = service({ tick });
    await loop.start();
    const stopped = loop.stop();
    const restarted = loop.start();
    const stoppedAgain = loop.stop();
    calls[0]!.finish(0);
    await Promise.all([stopped, restarted, stoppedAgain]);
    expect(loop.started).toBe(false);
    expect(calls).toHaveLength(1);
  });

  it('stress: 1,000 random start/stop interleavings end as the last call asked, never two loops at once', async () => {
    let seed = 18;
    const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
    let inTick = 0;
    let maxInTick = 0;
    const clock = new ManualClock();
    const loop = new LoopService({
      name: 'stress',
      clock,
      logger,
      tick: async (signal) => {
        inTick += 1;
        maxInTick = Math.max(maxInTick, inTick);
        await clock.sleep(random() < 0.5 ? 0 : 10, signal);
        inTick -= 1;
        return random() < 0.5 ? 0 : 5;
      },
    });
    for (let cycle = 0; cycle < 1_000; cycle += 1) {
      const pending: Array<Promise<void>> = [];
      let wantStarted = false;
      for (let call = 0; call < 1 + Math.floor(random() * 4); call += 1) {
        wantStarted = random() < 0.5;
        pending.push(wantStarted ? loop.start() : loop.stop());
        if (random() < 0.5) await settle();
        if (random() < 0.3) clock.advance(10);
      }
      await Promise.all(pending);
      expect(loop.started, `cycle ${cycle}`).toBe(wantStarted);
    }
    await loop.stop();
    expect(loop.started).toBe(false);
    expect(maxInTick).toBe(1);
    expect(inTick).toBe(0);
  });
});
