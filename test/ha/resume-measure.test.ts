/** The HA tests' own measures: when firing resumed after a fault, and which fires were re-fired. */
import { describe, expect, it } from 'vitest';
import type { RunLine } from '../../src/audit/run-log.js';
import { findRefires, measureResumes } from './ha-scenario.js';

const run = (wallMs: number, trigger = 't', scheduledMs = wallMs, attempt = 1): RunLine => ({
  kind: 'run',
  trigger,
  scheduledAt: new Date(scheduledMs),
  attempt,
  executionId: String(wallMs),
  instanceId: 'i',
  pid: 1,
  wallTime: new Date(wallMs),
});
const every = (from: number, to: number, step = 100) =>
  Array.from({ length: Math.floor((to - from) / step) }, (_, i) => run(from + i * step));

describe('measureResumes', () => {
  it('measures the outage around a fault, from the fault', () => {
    const runs = [...every(0, 10_000), ...every(21_000, 30_000)];
    expect(measureResumes(runs, [{ label: 'kill', at: 10_500 }])).toEqual([
      { label: 'kill', gapMs: 11_100, resumeMs: 10_500 },
    ]);
  });

  it('counts a stop that began before the fault was marked (frozen replication)', () => {
    const runs = [...every(0, 7_000), ...every(21_000, 30_000)];
    expect(measureResumes(runs, [{ label: 'kill', at: 10_000 }])[0]).toEqual({
      label: 'kill',
      gapMs: 14_100,
      resumeMs: 11_000,
    });
  });

  it('keeps each fault to its own outage', () => {
    const runs = [...every(0, 10_000), ...every(20_000, 40_000), ...every(52_000, 60_000)];
    const [first, second] = measureResumes(runs, [
      { label: 'a', at: 10_000 },
      { label: 'b', at: 40_000 },
    ]);
    expect(first!.resumeMs).toBe(10_000);
    expect(second!.resumeMs).toBe(12_000);
  });
});

describe('findRefires', () => {
  it('finds first attempts that ran twice, not retries or recoveries', () => {
    const runs = [run(1, 'a', 1000), run(2, 'a', 1000), run(3, 'b', 1000), run(4, 'b', 1000, 2)];
    expect(findRefires(runs)).toEqual([{ trigger: 'a', scheduledAt: new Date(1000).toISOString(), runs: 2 }]);
  });
});
