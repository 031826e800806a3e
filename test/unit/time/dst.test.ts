import { describe, expect, it } from 'vitest';
import type { ScheduleSpec } from '../../../src/time/schedule.js';
import { ZoneRules } from '../../../src/time/zone-rules.js';
import { fires } from './fires.js';

type Dst = { gap?: 'shift-forward' | 'skip'; overlap?: 'once' | 'twice' };
const quartz = (expression: string, timezone: string, dst?: Dst): ScheduleSpec => ({
  kind: 'quartz',
  expression,
  timezone,
  ...(dst ? { dst } : {}),
});

describe('DST policy', () => {
  it.each([
    // America/New_York, 10 March 2024: 02:00 EST jumps to 03:00 EDT (07:00Z).
    [
      'America/New_York',
      '0 30 2 * * ?',
      {},
      '2024-03-09T00:00:00Z',
      ['2024-03-09T07:30:00Z', '2024-03-10T07:00:00Z', '2024-03-11T06:30:00Z'],
    ],
    [
      'America/New_York',
      '0 30 2 * * ?',
      { gap: 'skip' },
      '2024-03-09T00:00:00Z',
      ['2024-03-09T07:30:00Z', '2024-03-11T06:30:00Z'],
    ],
    [
      'America/New_York',
      '0 30 * * * ?',
      {},
      '2024-03-10T06:00:00Z',
      ['2024-03-10T06:30:00Z', '2024-03-10T07:00:00Z', '2024-03-10T07:30:00Z'],
    ],
    [
      'America/New_York',
      '0 30 * * * ?',
      { gap: 'skip' },
      '2024-03-10T06:00:00Z',
      ['2024-03-10T06:30:00Z', '2024-03-10T07:30:00Z'],
    ],
    // A fire exactly at the end of the gap and the shifted ones merge into one.
    [
      'America/New_York',
      '0 0 * * * ?',
      {},
      '2024-03-10T05:30:00Z',
      ['2024-03-10T06:00:00Z', '2024-03-10T07:00:00Z', '2024-03-10T08:00:00Z'],
    ],
    // 3 November 2024: 02:00 EDT falls back to 01:00 EST (06:00Z); 01:xx happens twice.
    [
      'America/New_York',
      '0 30 1 * * ?',
      {},
      '2024-11-02T12:00:00Z',
      ['2024-11-03T05:30:00Z', '2024-11-04T06:30:00Z'],
    ],
    [
      'America/New_York',
      '0 30 1 * * ?',
      { overlap: 'twice' },
      '2024-11-02T12:00:00Z',
      ['2024-11-03T05:30:00Z', '2024-11-03T06:30:00Z', '2024-11-04T06:30:00Z'],
    ],
    [
      'America/New_York',
      '0 0 * * * ?',
      {},
      '2024-11-03T03:30:00Z',
      ['2024-11-03T04:00:00Z', '2024-11-03T05:00:00Z', '2024-11-03T07:00:00Z'],
    ],
    [
      'America/New_York',
      '0 0 * * * ?',
      { overlap: 'twice' },
      '2024-11-03T03:30:00Z',
      ['2024-11-03T04:00:00Z', '2024-11-03T05:00:00Z', '2024-11-03T06:00:00Z', '2024-11-03T07:00:00Z'],
    ],
    // Asking from inside the second pass of the overlap.
    [
      'America/New_York',
      '0 0/20 1 * * ?',
      { overlap: 'twice' },
      '2024-11-03T06:10:00Z',
      ['2024-11-03T06:20:00Z', '2024-11-03T06:40:00Z', '2024-11-04T06:00:00Z'],
    ],
    ['America/New_York', '0 0/20 1 * * ?', {}, '2024-11-03T06:10:00Z', ['2024-11-04T06:00:00Z']],
    // Europe/London: 31 March 2024 01:00 GMT → 02:00 BST; 27 October 2024 02:00 BST → 01:00 GMT.
    [
      'Europe/London',
      '0 30 1 * * ?',
      {},
      '2024-03-30T00:00:00Z',
      ['2024-03-30T01:30:00Z', '2024-03-31T01:00:00Z', '2024-04-01T00:30:00Z'],
    ],
    [
      'Europe/London',
      '0 30 1 * * ?',
      { gap: 'skip' },
      '2024-03-30T00:00:00Z',
      ['2024-03-30T01:30:00Z', '2024-04-01T00:30:00Z'],
    ],
    [
      'Europe/London',
      '0 30 1 * * ?',
      {},
      '2024-10-26T12:00:00Z',
      ['2024-10-27T00:30:00Z', '2024-10-28T01:30:00Z'],
    ],
    [
      'Europe/London',
      '0 30 1 * * ?',
      { overlap: 'twice' },
      '2024-10-26T12:00:00Z',
      ['2024-10-27T00:30:00Z', '2024-10-27T01:30:00Z', '2024-10-28T01:30:00Z'],
    ],
    // Australia/Lord_Howe shifts by 30 minutes: 6 October 2024 02:00 (+10:30) → 02:30 (+11).
    [
      'Australia/Lord_Howe',
      '0 15 2 * * ?',
      {},
      '2024-10-04T00:00:00Z',
      ['2024-10-04T15:45:00Z', '2024-10-05T15:30:00Z', '2024-10-06T15:15:00Z'],
    ],
    [
      'Australia/Lord_Howe',
      '0 15 2 * * ?',
      { gap: 'skip' },
      '2024-10-04T00:00:00Z',
      ['2024-10-04T15:45:00Z', '2024-10-06T15:15:00Z'],
    ],
    // 7 April 2024 02:00 (+11) → 01:30 (+10:30): 01:30-02:00 happens twice.
    [
      'Australia/Lord_Howe',
      '0 45 1 * * ?',
      {},
      '2024-04-06T00:00:00Z',
      ['2024-04-06T14:45:00Z', '2024-04-07T15:15:00Z'],
    ],
    [
      'Australia/Lord_Howe',
      '0 45 1 * * ?',
      { overlap: 'twice' },
      '2024-04-06T00:00:00Z',
      ['2024-04-06T14:45:00Z', '2024-04-06T15:15:00Z', '2024-04-07T15:15:00Z'],
    ],
    // Pacific/Apia skipped 30 December 2011 entirely (-10 → +14 at 2011-12-30T10:00Z).
    [
      'Pacific/Apia',
      '0 0 9 * * ?',
      {},
      '2011-12-28T12:00:00Z',
      ['2011-12-28T19:00:00Z', '2011-12-29T19:00:00Z', '2011-12-30T10:00:00Z', '2011-12-30T19:00:00Z'],
    ],
    [
      'Pacific/Apia',
      '0 0 9 * * ?',
      { gap: 'skip' },
      '2011-12-28T12:00:00Z',
      ['2011-12-28T19:00:00Z', '2011-12-29T19:00:00Z', '2011-12-30T19:00:00Z'],
    ],
    ['Pacific/Apia', '0 0 9 30 12 ?', { gap: 'skip' }, '2011-01-01T00:00:00Z', ['2012-12-29T19:00:00Z']],
  ] as const)('%s %s %j after %s', (zone, expression, dst, from, expected) => {
    expect(fires(quartz(expression, zone, dst as Dst), from, expected.length)).toEqual(expected);
  });

  it('runs fixed intervals in absolute time across a transition', () => {
    const spec: ScheduleSpec = { kind: 'interval', everyMs: 3_600_000 };
    expect(fires(spec, '2024-11-03T04:30:00Z', 3)).toEqual([
      '2024-11-03T05:00:00Z',
      '2024-11-03T06:00:00Z',
      '2024-11-03T07:00:00Z',
    ]);
  });

  it('keeps wall-clock time for calendar intervals across a transition', () => {
    const spec: ScheduleSpec = {
      kind: 'calendar-interval',
      every: 1,
      unit: 'day',
      start: '2024-03-08T09:00',
      timezone: 'America/New_York',
    };
    expect(fires(spec, '2024-03-08T00:00:00Z', 3)).toEqual([
      '2024-03-08T14:00:00Z',
      '2024-03-09T14:00:00Z',
      '2024-03-10T13:00:00Z',
    ]);
  });
});

describe('zone rules', () => {
  it('finds the transitions of a zone', () => {
    const newYork = ZoneRules.for('America/New_York');
    expect(newYork.transitionsBetween(Date.UTC(2024, 0, 1), Date.UTC(2025, 0, 1))).toEqual([
      { at: Date.UTC(2024, 2, 10, 7), before: -5 * 3_600_000, after: -4 * 3_600_000 },
      { at: Date.UTC(2024, 10, 3, 6), before: -4 * 3_600_000, after: -5 * 3_600_000 },
    ]);
    expect(ZoneRules.for('UTC').transitionsBetween(Date.UTC(2024, 0, 1), Date.UTC(2030, 0, 1))).toEqual([]);
  });

  it('resolves local times to zero, one or two instants', () => {
    const london = ZoneRules.for('Europe/London');
    expect(london.resolveLocal(Date.UTC(2024, 2, 31, 1, 30))).toEqual({
      instants: [],
      gapEnd: Date.UTC(2024, 2, 31, 1),
    });
    expect(london.resolveLocal(Date.UTC(2024, 9, 27, 1, 30)).instants).toEqual([
      Date.UTC(2024, 9, 27, 0, 30),
      Date.UTC(2024, 9, 27, 1, 30),
    ]);
    expect(london.resolveLocal(Date.UTC(2024, 6, 1, 12)).instants).toEqual([Date.UTC(2024, 6, 1, 11)]);
  });
});
