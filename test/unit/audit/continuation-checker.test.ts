/** The continuation checker: one continuation per upstream outcome that calls for it, and it ran. */
import { describe, expect, it } from 'vitest';
import { checkContinuations, type UpstreamFact } from '../../../src/audit/continuation-checker.js';
import type { RunLog } from '../../../src/audit/run-log.js';

const at = new Date('2030-01-01T00:00:00Z');
const fact = (over: Partial<UpstreamFact>): UpstreamFact => ({
  afterTrigger: 'b-after-a',
  on: ['succeeded'],
  upstreamFireId: '1',
  upstreamTrigger: 'a-every-second',
  scheduledAt: at,
  status: 'succeeded',
  continuations: [{ fireId: '10', status: 'succeeded', executionIds: ['100'] }],
  ...over,
});
const runLog = (executionIds: string[]): RunLog => ({
  runs: executionIds.map((executionId) => ({
    kind: 'run',
    trigger: 'b-after-a',
    scheduledAt: at,
    attempt: 1,
    executionId,
    instanceId: 'i',
    pid: 1,
    wallTime: at,
  })),
  clocks: [],
  malformed: [],
});

describe('checkContinuations', () => {
  it('passes one continuation per settled success that ran, and skips unsettled upstreams', () => {
    const report = checkContinuations({
      facts: [fact({}), fact({ upstreamFireId: '2', status: 'running', continuations: [] })],
      runLog: runLog(['100']),
    });
    expect(report).toEqual({
      upstreamsChecked: 1,
      continuations: 1,
      continuationsRun: 1,
      continuationsInFlight: 0,
      continuationsSettledNotRun: 0,
      violations: [],
    });
  });

  it('counts a continuation still pending as in flight, and a settled one that never ran as not run', () => {
    const report = checkContinuations({
      facts: [
        fact({ continuations: [{ fireId: '10', status: 'pending', executionIds: ['100'] }] }),
        fact({
          upstreamFireId: '2',
          continuations: [{ fireId: '20', status: 'failed', executionIds: ['200'] }],
        }),
      ],
      runLog: runLog([]),
    });
    expect(report).toMatchObject({
      continuations: 2,
      continuationsRun: 0,
      continuationsInFlight: 1,
      continuationsSettledNotRun: 1,
    });
  });

  it('flags a missing, a doubled and an unwarranted continuation from the history', () => {
    const report = checkContinuations({
      facts: [
        fact({ upstreamFireId: '1', continuations: [] }),
        fact({
          upstreamFireId: '2',
          continuations: [
            { fireId: '10', status: 'succeeded', executionIds: ['100'] },
            { fireId: '11', status: 'succeeded', executionIds: ['101'] },
          ],
        }),
        fact({ upstreamFireId: '3', status: 'failed' }),
        fact({ upstreamFireId: '4', status: 'timed_out', on: ['any'] }),
      ],
    });
    expect(report.violations.map((v) => [v.kind, v.upstreamFireId])).toEqual([
      ['continuation-missing', '1'],
      ['continuation-twice', '2'],
      ['continuation-unwarranted', '3'],
    ]);
  });

  it('flags, from the run log, a succeeded continuation that never ran and two fires run for one upstream', () => {
    const twice = fact({
      upstreamFireId: '2',
      continuations: [
        { fireId: '10', status: 'succeeded', executionIds: ['100'] },
        { fireId: '11', status: 'failed', executionIds: ['101'] },
      ],
    });
    const report = checkContinuations({ facts: [fact({}), twice], runLog: runLog(['100', '101']) });
    expect(report.violations.map((v) => v.kind)).toEqual([
      'continuation-twice',
      'continuation-ran-for-two-fires',
    ]);
    const notRun = checkContinuations({ facts: [fact({})], runLog: runLog([]) });
    expect(notRun.violations.map((v) => v.kind)).toEqual(['continuation-not-run']);
  });
});
