/**
 * The fields an apply plan compares, one by one: every job and trigger field that differs is listed
 * under its plan name, in order, its values shown as the plan shows them (durations, instants, JSON).
 */
import { describe, expect, it } from 'vitest';
import type { Definitions } from '../../../src/config/definitions.js';
import { diffDefinitions } from '../../../src/config/reconcile-diff.js';
import type { JobRecord, TriggerRecord } from '../../../src/store/definition-store.js';

const at = { file: 'belfry.yaml', line: 1, column: 1 };
const job: JobRecord = {
  name: 'report',
  module: './jobs/report.ts',
  exportName: 'default',
  description: null,
  data: {},
  concurrency: 'allow',
  timeoutMs: 30_000,
  maxAttempts: 1,
  backoff: { initialMs: 1_000, maxMs: 300_000, factor: 2 },
  recover: false,
  source: 'yaml',
};
const trigger: TriggerRecord = {
  name: 'nightly',
  group: 'default',
  job: 'report',
  kind: 'cron',
  spec: { kind: 'cron', expression: '0 2 * * *', timezone: 'UTC' },
  calendarName: null,
  data: null,
  priority: 0,
  startAt: null,
  endAt: null,
  maxFires: null,
  misfirePolicy: 'fire-once-now',
  misfireThresholdMs: 60_000,
  source: 'yaml',
};
const changedJob: JobRecord = {
  ...job,
  module: './jobs/other.ts',
  exportName: 'run',
  description: 'the nightly report',
  data: { to: 'ops' },
  concurrency: 'forbid',
  timeoutMs: 90_000,
  maxAttempts: 3,
  backoff: { initialMs: 500, maxMs: 60_000, factor: 3 },
  recover: true,
};
const changedTrigger: TriggerRecord = {
  ...trigger,
  job: 'other',
  group: 'reports',
  priority: 5,
  data: { day: 'mon' },
  startAt: new Date('2030-01-01T00:00:00Z'),
  endAt: new Date('2031-01-01T00:00:00Z'),
  maxFires: 10,
  misfirePolicy: 'skip',
  misfireThresholdMs: 5_000,
};

function plan(wanted: { job: JobRecord; trigger: TriggerRecord }) {
  const definitions: Definitions = {
    files: ['belfry.yaml'],
    calendars: [],
    jobs: [
      {
        name: wanted.job.name,
        record: wanted.job,
        options: {},
        implementation: {
          kind: 'module',
          module: wanted.job.module!,
          modulePath: '/x',
          exportName: wanted.job.exportName!,
          moduleAt: at,
          exportAt: at,
        },
        at,
      },
    ],
    triggers: [{ name: wanted.trigger.name, record: wanted.trigger, at } as Definitions['triggers'][number]],
  };
  const stored = {
    calendars: [],
    jobs: [{ ...job, paused: false }],
    triggers: [
      {
        ...trigger,
        id: '1',
        state: 'waiting' as const,
        nextFireAt: null,
        previousFireAt: null,
        timesFired: 0,
        version: 1,
        pausedReason: null,
        replanAt: null,
      },
    ],
  };
  return diffDefinitions(stored, definitions, { prune: false });
}

describe('the fields a plan compares', () => {
  it('lists every changed job field by its plan name, in order, shown as the plan shows it', () => {
    const entry = plan({ job: changedJob, trigger }).find((e) => e.type === 'job')!;
    expect(entry.action).toBe('change');
    expect(entry.changes).toEqual([
      { field: 'module', from: './jobs/report.ts', to: './jobs/other.ts' },
      { field: 'export', from: 'default', to: 'run' },
      { field: 'description', from: 'none', to: 'the nightly report' },
      { field: 'data', from: '{}', to: '{"to":"ops"}' },
      { field: 'concurrency', from: 'allow', to: 'forbid' },
      { field: 'timeout', from: '30s', to: '90s' },
      { field: 'attempts', from: '1', to: '3' },
      { field: 'backoff', from: '1s..5m ×2', to: '500ms..1m ×3' },
      { field: 'recover', from: 'false', to: 'true' },
    ]);
  });

  it('lists the schedule fields of a trigger first (they reschedule it), then the others', () => {
    const entry = plan({ job, trigger: changedTrigger }).find((e) => e.type === 'trigger')!;
    expect(entry.action).toBe('change');
    expect(entry.reschedule).toBe(true);
    expect(entry.changes).toEqual([
      { field: 'start', from: 'none', to: '2030-01-01T00:00:00.000Z' },
      { field: 'end', from: 'none', to: '2031-01-01T00:00:00.000Z' },
      { field: 'count', from: 'none', to: '10' },
      { field: 'job', from: 'report', to: 'other' },
      { field: 'group', from: 'default', to: 'reports' },
      { field: 'priority', from: '0', to: '5' },
      { field: 'data', from: 'none', to: '{"day":"mon"}' },
      { field: 'misfire', from: 'fire-once-now', to: 'skip' },
      { field: 'misfire threshold', from: '1m', to: '5s' },
    ]);
  });

  it('keeps the next fire when only fields outside the schedule change', () => {
    const entry = plan({ job, trigger: { ...trigger, priority: 5 } }).find((e) => e.type === 'trigger')!;
    expect(entry.changes).toEqual([{ field: 'priority', from: '0', to: '5' }]);
    expect(entry.reschedule).toBeUndefined();
  });
});
