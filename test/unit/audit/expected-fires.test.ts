import { describe, expect, it } from 'vitest';
import { judgeExpectedFires, type ExpectedFiresInput } from '../../../src/audit/expected-fires.js';

const T0 = Date.parse('2030-01-01T00:00:00Z');
const at = (ms: number) => new Date(T0 + ms);
const every = (ms: number) => ({ spec: { kind: 'interval' as const, everyMs: ms }, endAt: null });
const window = { since: at(0), until: at(30_000) };

/** Fire rows at the given offsets (ms from T0), one each. */
const fires = (...offsets: number[]) => new Map(offsets.map((ms) => [T0 + ms, 1]));
const range = (from: number, to: number, step: number) => {
  const list: number[] = [];
  for (let ms = from; ms < to; ms += step) list.push(ms);
  return list;
};

describe('judgeExpectedFires', () => {
  it('requires every time of an unchanged schedule, once', () => {
    const input: ExpectedFiresInput = {
      trigger: 't',
      initial: every(1000),
      changes: [],
      recorded: fires(...range(0, 30_000, 1000)),
      window,
    };
    expect(judgeExpectedFires(input)).toEqual({ expected: 30, violations: [] });

    const recorded = fires(...range(0, 30_000, 1000).filter((ms) => ms !== 7000), 7500);
    recorded.set(T0 + 9000, 2);
    const kinds = judgeExpectedFires({ ...input, recorded }).violations.map((v) => [
      v.kind,
      v.scheduledAt.getTime() - T0,
    ]);
    expect(kinds).toEqual([
      ['missing', 7000],
      ['unexpected', 7500],
      ['duplicate', 9000],
    ]);
  });

  it('stops at the end of the schedule', () => {
    const input: ExpectedFiresInput = {
      trigger: 't',
      initial: { ...every(1000), endAt: at(9_000) },
      changes: [],
      recorded: fires(...range(0, 10_000, 1000)),
      window,
    };
    expect(judgeExpectedFires(input)).toEqual({ expected: 10, violations: [] });
    input.recorded = fires(...range(0, 11_000, 1000));
    expect(judgeExpectedFires(input).violations.map((v) => v.kind)).toEqual(['unexpected']);
  });

  describe('across a schedule change at 10 s (1 s → 2 s)', () => {
    const base = {
      trigger: 't',
      initial: every(1000),
      changes: [{ notBefore: at(10_000), notAfter: at(10_050), to: every(2000) }],
      window,
      settleMs: 250,
      acceptBeforeMs: 3_000,
    };
    const before = range(0, 10_000, 1000);
    const after = range(12_000, 30_000, 2000);

    it('requires old times before the change and new times after it', () => {
      const recorded = fires(...before, ...after);
      expect(judgeExpectedFires({ ...base, recorded })).toEqual({ expected: 10 + 9, violations: [] });
    });

    it('accepts an old time in the fire-ahead window', () => {
      const recorded = fires(...before, 10_000, ...after);
      expect(judgeExpectedFires({ ...base, recorded }).violations).toEqual([]);
    });

    it('accepts new times shortly before the change (a late due fire advanced by the new schedule)', () => {
      const to15 = { ...base, changes: [{ ...base.changes[0]!, to: every(1500) }] };
      const recorded = fires(...before, 10_500, ...range(12_000, 30_000, 1500), 7_500);
      expect(judgeExpectedFires({ ...to15, recorded }).violations).toEqual([]);
      recorded.set(T0 + 4_500, 1); // more than acceptBeforeMs before the change
      expect(judgeExpectedFires({ ...to15, recorded }).violations.map((v) => v.kind)).toEqual(['unexpected']);
    });

    it('flags a due old fire the change skipped', () => {
      const recorded = fires(...before.filter((ms) => ms !== 9000), ...after);
      expect(judgeExpectedFires({ ...base, recorded }).violations.map((v) => v.kind)).toEqual(['missing']);
    });

    it('flags a lost new fire after the change, and an old time after it', () => {
      const lost = fires(...before, ...after.filter((ms) => ms !== 20_000));
      expect(judgeExpectedFires({ ...base, recorded: lost }).violations.map((v) => v.kind)).toEqual([
        'missing',
      ]);
      const old = fires(...before, ...after, 21_000);
      expect(judgeExpectedFires({ ...base, recorded: old }).violations.map((v) => v.kind)).toEqual([
        'unexpected',
      ]);
    });

    it('flags a time on neither schedule around the change', () => {
      const recorded = fires(...before, 10_020, ...after);
      expect(judgeExpectedFires({ ...base, recorded }).violations.map((v) => v.kind)).toEqual(['unexpected']);
    });
  });
});
