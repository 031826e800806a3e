/**
 * `belfry dev`'s keys (issue #19): read in raw mode only on a terminal, Ctrl-C read as a key takes the
 * stop path, the terminal mode comes back; the failover narrated in words, each moment once; the audit
 * verdict in one line.
 */
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { auditVerdict, listenForKeys } from '../../../src/dev/demo-keys.js';
import { formatReplicaLine } from '../../../src/dev/replica-log-line.js';
import type { AuditReport } from '../../../src/audit/history-auditor.js';

class FakeTerminal extends EventEmitter {
  isTTY = true;
  raw: boolean[] = [];
  flowing = false;
  setRawMode(raw: boolean) {
    this.raw.push(raw);
  }
  resume() {
    this.flowing = true;
  }
  pause() {
    this.flowing = false;
  }
}

describe('keys', () => {
  it('are read in raw mode on a terminal; Ctrl-C (0x03) is a stop request; the mode is restored once', () => {
    const input = new FakeTerminal();
    const keys: string[] = [];
    let ctrlC = 0;
    const restore = listenForKeys(
      { input, output: { isTTY: true } },
      { onKey: (key) => keys.push(key), onCtrlC: () => (ctrlC += 1) },
    )!;
    expect(input.raw).toEqual([true]);
    input.emit('data', Buffer.from('kA\x03'));
    expect(keys).toEqual(['k', 'a']);
    expect(ctrlC).toBe(1);
    restore();
    restore();
    expect(input.raw).toEqual([true, false]);
    expect(input.flowing).toBe(false);
    input.emit('data', Buffer.from('k'));
    expect(keys).toEqual(['k', 'a']);
  });

  it('are not read when input or output is no terminal: nothing changes', () => {
    const handlers = { onKey: () => {}, onCtrlC: () => {} };
    const piped = new FakeTerminal();
    piped.isTTY = false;
    expect(listenForKeys({ input: piped, output: { isTTY: true } }, handlers)).toBeUndefined();
    const redirected = new FakeTerminal();
    expect(listenForKeys({ input: redirected, output: { isTTY: false } }, handlers)).toBeUndefined();
    expect([...piped.raw, ...redirected.raw]).toEqual([]);
  });
});

describe('the failover in words', () => {
  const line = (fields: Record<string, unknown>) =>
    formatReplicaLine(
      JSON.stringify({ level: 40, time: '2026-11-30T08:00:00.000Z', ...fields }),
      'replica-1',
      '',
    );

  it('tells each moment once: the execution log line, not the cluster duplicate', () => {
    expect(
      line({ msg: 'instance declared dead', instance: 'replica-2', reason: 'database session ended' }),
    ).toBeUndefined();
    expect(
      line({
        msg: 'instance declared dead',
        component: 'executions',
        dead: 'replica-2',
        reason: 'database session ended',
      }),
    ).toMatch(/· declared replica-2 dead \(database session ended\)$/);
    expect(line({ msg: 'elected leader', epoch: 4 })).toBeUndefined();
    expect(line({ msg: 'leader elected', component: 'executions', epoch: 4 })).toMatch(
      /· new leader, epoch 4$/,
    );
    expect(line({ msg: 'execution re-dispatched', component: 'executions', job: 'sampler' })).toMatch(
      /recovered an execution of sampler from a dead instance/,
    );
  });
});

describe('the audit verdict', () => {
  const report = (overrides: Partial<AuditReport>): AuditReport => ({
    window: { since: new Date('2026-11-30T08:00:00Z'), until: new Date('2026-11-30T08:01:00Z') },
    triggersChecked: 3,
    firesExpected: 30,
    fireViolations: [],
    executionAnomalies: [],
    staleEpochWrites: [],
    misfireOutages: 0,
    misfirePolicyViolations: [],
    ok: true,
    ...overrides,
  });

  it('says pass or fail, and what was checked, in one line', () => {
    expect(auditVerdict(report({}))).toBe(
      'a: audit passed: every fire exactly once, every execution ended (3 triggers, 30 fires expected, 08:00:00–08:01:00 UTC)',
    );
    const failed = auditVerdict(
      report({
        ok: false,
        fireViolations: [
          { kind: 'duplicate', trigger: 't', scheduledAt: new Date(0), count: 2 },
        ] as AuditReport['fireViolations'],
      }),
    );
    expect(failed).toMatch(/^a: audit FAILED: 1 fire violations \(3 triggers/);
    expect(failed).not.toContain('\n');
  });
});
