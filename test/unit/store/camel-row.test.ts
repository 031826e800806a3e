import { describe, expect, it } from 'vitest';
import { camelRow } from '../../../src/store/camel-row.js';

describe('camelRow', () => {
  it('reads every snake_case column under its camelCase name, values untouched', () => {
    const startedAt = new Date('2030-01-01T00:00:00Z');
    const row = camelRow({
      id: '7',
      started_at: startedAt,
      last_checkin_at: null,
      is_leader: true,
      dead_reason: 'x',
    });
    expect(row).toEqual({ id: '7', startedAt, lastCheckinAt: null, isLeader: true, deadReason: 'x' });
    expect(row.startedAt).toBe(startedAt);
  });

  it('keeps names without an underscore, and digits after one', () => {
    expect(camelRow({ name: 'a', p_99: 1 })).toEqual({ name: 'a', p99: 1 });
  });
});
