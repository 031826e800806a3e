/**
 * Start-up against an unreachable database: the waits between attempts follow one full-jitter backoff
 * (0–500 ms after the first failure, doubling to a 30 s cap), drawn from the injected `random`; an abort
 * during a wait ends the loop; an error that is not about reaching the server fails at once.
 */
import type pg from 'pg';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { migrateWhenReachable } from '../../../src/cli/wait-for-database.js';
import type { Clock } from '../../../src/time/clock.js';

const refused = () => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
/** A pool whose every connection fails with `error()`. */
const failingPool = (error: () => Error) =>
  ({ connect: () => Promise.reject(error()) }) as unknown as pg.Pool;

/** Records each wait; aborts after `waits` of them, so the loop ends without a real sleep. */
function recordingClock(waits: number, controller: AbortController): Clock & { slept: number[] } {
  const slept: number[] = [];
  return {
    slept,
    now: () => new Date(0),
    monotonicMs: () => 0,
    sleep: async (ms) => {
      slept.push(ms);
      if (slept.length >= waits) controller.abort();
    },
  };
}

async function waitsFor(draw: number, waits: number): Promise<number[]> {
  const controller = new AbortController();
  const clock = recordingClock(waits, controller);
  const result = await migrateWhenReachable(failingPool(refused), 'belfry', {
    clock,
    logger: pino({ level: 'silent' }),
    signal: controller.signal,
    random: () => draw,
  });
  expect(result).toBeUndefined();
  return clock.slept;
}

describe('migrateWhenReachable', () => {
  it('waits a full-jitter backoff between attempts: up to 500 ms, doubling, capped at 30 s', async () => {
    expect(await waitsFor(0.999_999, 9)).toEqual([
      500, 1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000,
    ]);
    expect(await waitsFor(0.5, 8)).toEqual([250, 500, 1_000, 2_000, 4_000, 8_000, 15_000, 15_000]);
    expect(await waitsFor(0, 3)).toEqual([0, 0, 0]);
  });

  it('stays at the cap however long the database stays away', async () => {
    const slept = await waitsFor(0.999_999, 200);
    expect(slept.at(-1)).toBe(30_000);
    expect(slept.every((ms) => Number.isInteger(ms) && ms >= 0 && ms <= 30_000)).toBe(true);
  });

  it('fails at once on an error that is not about reaching the server', async () => {
    const controller = new AbortController();
    const clock = recordingClock(1, controller);
    const denied = () => Object.assign(new Error('password authentication failed'), { code: '28P01' });
    await expect(
      migrateWhenReachable(failingPool(denied), 'belfry', { clock, logger: pino({ level: 'silent' }) }),
    ).rejects.toThrow('password authentication failed');
    expect(clock.slept).toEqual([]);
  });
});
