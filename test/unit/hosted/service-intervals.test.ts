/** The services chaos test's checks find what they look for (on hand-made interval logs). */
import { describe, expect, it } from 'vitest';
import { checkIntervals, type FaultWindow, type IntervalLine } from '../../chaos/service-intervals.js';

const run = (pid: number, epoch: number, start: number, end: number): IntervalLine => ({
  service: 's',
  shard: 0,
  epoch,
  pid,
  start,
  end,
});
const cp = (pid: number, epoch: number, checkpoint: number, at: number): IntervalLine => ({
  service: 's',
  shard: 0,
  epoch,
  pid,
  checkpoint,
  at,
});
const options = { gapAllowedMs: 1_000, recoveryMs: 5_000, until: 20_000 };
const kill: FaultWindow = { kind: 'kill', start: 9_000, end: 10_000, what: 'SIGKILL' };

describe('service interval checks', () => {
  it('passes a clean history: pieces of one run merged, a handover with a higher epoch, a gap in a fault', () => {
    const report = checkIntervals(
      [
        run(1, 1, 0, 500),
        run(1, 1, 0, 9_100),
        cp(1, 1, 1, 100),
        cp(2, 2, 2, 12_100),
        run(2, 2, 12_000, 19_500),
      ],
      [kill],
      options,
    );
    expect(report).toMatchObject({
      runs: 2,
      handovers: 1,
      checkpoints: 2,
      overlaps: [],
      epochRegressions: [],
      checkpointRegressions: [],
      unexplained: [],
    });
    expect(report.gaps).toHaveLength(1);
  });

  it('finds overlaps, epochs that did not grow, checkpoints that went back and unexplained gaps', () => {
    const report = checkIntervals(
      [
        run(1, 2, 0, 5_000),
        run(2, 2, 4_000, 6_000), // overlaps, and the same epoch under another holder
        run(3, 3, 15_000, 19_900), // a gap 6 s → 15 s: the fault ended at 10 s + 5 s recovery → explained
        cp(1, 2, 5, 1_000),
        cp(2, 2, 4, 4_500),
      ],
      [],
      options,
    );
    expect(report.overlaps).toHaveLength(1);
    expect(report.epochRegressions).toHaveLength(1);
    expect(report.checkpointRegressions).toEqual([{ shard: 's/0', seq: 4, after: 5, pid: 2 }]);
    expect(report.unexplained).toHaveLength(1);
    expect(
      checkIntervals([run(1, 1, 0, 8_900), run(2, 2, 15_000, 19_900)], [kill], options).unexplained,
    ).toEqual([]);
    expect(
      checkIntervals([run(1, 1, 0, 8_900), run(2, 2, 16_000, 19_900)], [kill], options).unexplained,
    ).toHaveLength(1);
  });
});
