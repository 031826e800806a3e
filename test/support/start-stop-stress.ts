/**
 * The start/stop stress every service gets: 1,000 cycles of one to four start() or stop() calls fired
 * without waiting, the microtasks and the manual clock stepped at random between them; after each cycle
 * the services must be up exactly when the last call was a start. Seeded, so a failure replays.
 */
import { expect } from 'vitest';
import type { ManualClock } from './manual-clock.js';

/** A seeded linear congruential generator in [0, 1). */
export function seededRandom(seed: number): () => number {
  let state = seed;
  return () => (state = (state * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
}

export async function stressStartStop(params: {
  target: { start(): Promise<void>; stop(): Promise<void> };
  clock: ManualClock;
  random: () => number;
  /** Whether each watched service is up now. */
  started: () => boolean[];
  cycles?: number;
}): Promise<void> {
  const { target, clock, random } = params;
  for (let cycle = 0; cycle < (params.cycles ?? 1_000); cycle += 1) {
    const calls: Array<Promise<void>> = [];
    let last: 'start' | 'stop' = 'stop';
    for (let call = 0; call < 1 + Math.floor(random() * 4); call += 1) {
      last = random() < 0.5 ? 'start' : 'stop';
      calls.push(last === 'start' ? target.start() : target.stop());
      for (let i = Math.floor(random() * 4); i > 0; i -= 1) await Promise.resolve();
      if (random() < 0.3) clock.advance(5);
    }
    await Promise.all(calls);
    const up = last === 'start';
    const started = params.started();
    expect(started, `cycle ${cycle}`).toEqual(started.map(() => up));
  }
}
