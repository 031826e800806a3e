import { describe, expect, it } from 'vitest';
import { censoredPercentiles } from '../../../bench/support/stats.js';
import { ratios, renderMarkdown, type CellResult } from '../../../bench/support/report.js';

function cell(partial: Partial<CellResult> & Pick<CellResult, 'system' | 'column'>): CellResult {
  return { settings: {}, metrics: {}, lowerBounds: [], details: {}, notes: [], ...partial };
}

describe('censoredPercentiles', () => {
  const keys = { p50: 'lagP50', p99: 'lagP99', max: 'lagMax' };

  it('is the plain nearest-rank percentile when every job started', () => {
    const lags = Array.from({ length: 100 }, (_, i) => i + 1);
    const { metrics, lowerBounds } = censoredPercentiles(keys, lags, 100, 5_000);
    expect(metrics).toEqual({ lagP50: 50, lagP99: 99, lagMax: 100 });
    expect(lowerBounds).toEqual([]);
  });

  it('reports a percentile that falls among the jobs still waiting as the wait, a lower bound', () => {
    // 60 of 100 started: p50 is known, p99 and max are not (those jobs waited at least 8 s).
    const lags = Array.from({ length: 60 }, (_, i) => 100 * (i + 1));
    const { metrics, lowerBounds } = censoredPercentiles(keys, lags, 100, 8_000);
    expect(metrics).toEqual({ lagP50: 5_000, lagP99: 8_000, lagMax: 8_000 });
    expect(lowerBounds).toEqual(['lagP99', 'lagMax']);
  });

  it('never reports a lower bound below a lag that was observed', () => {
    const { metrics } = censoredPercentiles(keys, [9_500], 10, 8_000);
    expect(metrics.lagP99).toBe(9_500);
  });
});

describe('renderMarkdown', () => {
  const cells = [
    cell({ system: 'pg-boss', column: 'tuned', metrics: { 'herd.allStartedMs': 300 } }),
    cell({ system: 'belfry', column: 'tuned', metrics: { 'herd.allStartedMs': 600 } }),
    cell({
      system: 'pg-boss',
      column: 'defaults',
      metrics: { 'herd.allStartedMs': 8_000 },
      lowerBounds: ['herd.allStartedMs'],
    }),
    cell({ system: 'belfry', column: 'defaults', metrics: { 'herd.allStartedMs': 900 } }),
  ];

  it('shows every defaults column before the tuned ones, Belfry first in each', () => {
    const header = renderMarkdown(cells).split('\n')[0];
    expect(header).toBe('| metric | belfry defaults | pg-boss defaults | belfry tuned | pg-boss tuned |');
  });

  it('marks lower bounds and leaves their ratio out', () => {
    const text = renderMarkdown(cells);
    expect(text).toContain('| 900 | >8,000 | 600 | 300 |');
    expect(ratios(cells)['pg-boss']).toEqual({
      defaults: expect.objectContaining({ 'herd.allStartedMs': null }),
      tuned: expect.objectContaining({ 'herd.allStartedMs': 2 }),
    });
    expect(text).toContain('2x worse');
  });
});
