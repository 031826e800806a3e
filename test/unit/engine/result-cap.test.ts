/** An execution's result: its JSON, capped (docs/audit.md), null when it has none. */
import { describe, expect, it } from 'vitest';
import { MAX_RESULT_CHARS, toJson } from '../../../src/engine/executor-pool.js';

describe('toJson (executions.result)', () => {
  it('keeps JSON up to the cap, replaces a larger result by its size, drops what has no JSON form', () => {
    expect(toJson({ rows: 42, at: new Date('2030-01-01T00:00:00Z') })).toEqual({
      rows: 42,
      at: '2030-01-01T00:00:00.000Z',
    });
    const big = 'x'.repeat(MAX_RESULT_CHARS);
    expect(toJson(big)).toEqual({ truncated: true, bytes: MAX_RESULT_CHARS + 2 });
    expect(toJson('x'.repeat(MAX_RESULT_CHARS - 2))).toHaveLength(MAX_RESULT_CHARS - 2);
    expect(toJson(undefined)).toBeNull();
    expect(toJson(() => 1)).toBeNull();
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(toJson(cyclic)).toBeNull();
  });
});
