/**
 * `belfry dev`'s keys (issue #19): read in raw mode only on a terminal, Ctrl-C read as a key takes the
 * stop path, the terminal mode comes back; the failover narrated in words, each moment once; the audit
 * verdict in one line.
 */
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { auditVerdict, listenForKeys } from '../../../src/dev/demo-keys.js';
import { formatReplicaLine, ReplicaLogView } from '../../../src/dev/replica-log-line.js';
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

describe('misfires after an outage', () => {
  const misfired = (trigger: string, minute: number) =>
    JSON.stringify({
      level: 40,
      time: '2026-11-30T10:40:01.250Z',
      msg: 'trigger misfired',
      trigger,
      job: 'report',
      scheduledAt: `2026-11-30T10:${String(minute).padStart(2, '0')}:00.000Z`,
      status: 'misfired',
    });
  const finished = (trigger: string) =>
    JSON.stringify({
      level: 30,
      time: '2026-11-30T10:40:02.000Z',
      msg: 'execution finished',
      trigger,
      scheduledAt: '2026-11-30T10:40:00.000Z',
      status: 'succeeded',
      durationMs: 12,
    });
  const plain = (text: string) => text.replace(/\x1b\[\d+m/g, '');
  const policies = new Map([
    ['every-minute', 'fire-once-now'],
    ['hourly-sync', 'skip'],
    ['catch-up', 'fire-all'],
  ]);
  const view = () => new ReplicaLogView({ policyOf: (trigger) => policies.get(trigger), quietMs: 2_000 });

  it('are one line per trigger, printed before its next outcome: count, span and what the policy did', () => {
    const log = view();
    const printed: string[] = [];
    for (let minute = 3; minute <= 39; minute += 1)
      printed.push(...log.lines(misfired('every-minute', minute), 'replica-2', '', 1_000 + minute));
    expect(printed).toEqual([]); // held: 37 lines would bury everything else
    printed.push(...log.lines(finished('every-minute'), 'replica-2', '', 1_100));
    expect(printed.map(plain)).toEqual([
      '10:40:01.250  replica-2  - trigger every-minute: 37 periods misfired (10:03:00 … 10:39:00) while the cluster was down or the trigger paused; policy fire-once-now: fired once',
      expect.stringMatching(/^10:40:02.000 {2}replica-2 {2}✓ every-minute +succeeded {2}\(12 ms\)$/),
    ]);
    expect(log.flush()).toEqual([]); // told once
  });

  it('come out once they stop coming for quietMs when no outcome follows (policy skip), per trigger', () => {
    const log = view();
    for (let minute = 0; minute < 3; minute += 1)
      log.lines(misfired('hourly-sync', minute), 'replica-1', '', 0);
    log.lines(misfired('catch-up', 5), 'replica-3', '', 1_500);
    expect(log.due(1_999)).toEqual([]);
    expect(log.due(2_000).map(plain)).toEqual([
      '10:40:01.250  replica-1  - trigger hourly-sync: 3 periods misfired (10:00:00 … 10:02:00) while the cluster was down or the trigger paused; policy skip: none fired; it goes on from its next period',
    ]);
    expect(log.due(3_500).map(plain)).toEqual([
      '10:40:01.250  replica-3  - trigger catch-up: 1 period misfired (10:05:00) while the cluster was down or the trigger paused; policy fire-all: the most recent ones caught up, spaced out (up to the catch-up limit)',
    ]);
    expect(log.due(10_000)).toEqual([]);
  });

  it('name no policy for a trigger the YAML does not define, and are flushed at stop', () => {
    const log = view();
    log.lines(misfired('from-the-api', 1), 'replica-1', '', 0);
    log.lines(misfired('from-the-api', 2), 'replica-1', '', 0);
    expect(log.flush().map(plain)).toEqual([
      '10:40:01.250  replica-1  - trigger from-the-api: 2 periods misfired (10:01:00 … 10:02:00) while the cluster was down or the trigger paused',
    ]);
  });

  it('leave the other lines as formatReplicaLine prints them', () => {
    const log = view();
    const moment = JSON.stringify({
      time: '2026-11-30T10:40:00.000Z',
      msg: 'leader elected',
      component: 'executions',
      epoch: 4,
    });
    expect(log.lines(moment, 'replica-1', '', 0)).toEqual([formatReplicaLine(moment, 'replica-1', '')]);
    expect(log.lines('not json', 'replica-1', '', 0)).toEqual([
      formatReplicaLine('not json', 'replica-1', ''),
    ]);
    expect(log.lines('{"msg":"debug noise"}', 'replica-1', '', 0)).toEqual([]);
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
    continuations: {
      upstreamsChecked: 0,
      continuations: 0,
      continuationsRun: 0,
      continuationsInFlight: 0,
      continuationsSettledNotRun: 0,
      violations: [],
    },
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
