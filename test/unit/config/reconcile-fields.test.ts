/**
 * The fields an apply plan compares, one by one: every job and trigger field that differs is listed
 * under its plan name, in order, its values shown as the plan shows them (durations, instants, JSON).
 */
import { describe, expect, it } from 'vitest';
import type { Definitions } from '../../../src/config/definitions.js';
import { diffDefinitions } from '../../../src/config/reconcile-diff.js';
import type { JobRecord, TriggerRecord } from '../../../src/store/definition-store.js';
import { jobRecord, triggerRecord } from '../../support/definition-records.js';

const at = { file: 'belfry.yaml', line: 1, column: 1 };
const job = jobRecord('report');
const trigger = triggerRecord('nightly');

/** [record, key, new value, plan name, stored value shown, new value shown], in the plan's order. */
type FieldCase<R> = { [K in keyof R]: [K, R[K], string, string, string] }[keyof R];
const jobCases: FieldCase<JobRecord>[] = [
  ['module', './jobs/other.ts', 'module', './jobs/report.ts', './jobs/other.ts'],
  ['exportName', 'run', 'export', 'default', 'run'],
  ['description', 'the nightly report', 'description', 'none', 'the nightly report'],
  ['data', { to: 'ops' }, 'data', '{}', '{"to":"ops"}'],
  ['concurrency', 'forbid', 'concurrency', 'allow', 'forbid'],
  ['timeoutMs', 90_000, 'timeout', '30s', '90s'],
  ['maxAttempts', 3, 'attempts', '1', '3'],
  ['backoff', { initialMs: 500, maxMs: 60_000, factor: 3 }, 'backoff', '1s..5m ×2', '500ms..1m ×3'],
  ['recover', true, 'recover', 'false', 'true'],
];
/** The schedule fields first (they reschedule the trigger), then the others. */
const triggerCases: FieldCase<TriggerRecord>[] = [
  ['startAt', new Date('2030-01-01T00:00:00Z'), 'start', 'none', '2030-01-01T00:00:00.000Z'],
  ['endAt', new Date('2031-01-01T00:00:00Z'), 'end', 'none', '2031-01-01T00:00:00.000Z'],
  ['maxFires', 10, 'count', 'none', '10'],
  ['job', 'other', 'job', 'report', 'other'],
  ['group', 'reports', 'group', 'default', 'reports'],
  ['priority', 5, 'priority', '0', '5'],
  ['data', { day: 'mon' }, 'data', 'none', '{"day":"mon"}'],
  ['misfirePolicy', 'skip', 'misfire', 'fire-once-now', 'skip'],
  ['misfireThresholdMs', 5_000, 'misfire threshold', '1m', '5s'],
];
const withCases = <R>(record: R, cases: FieldCase<R>[]): R =>
  ({ ...record, ...Object.fromEntries(cases.map(([key, value]) => [key, value])) }) as R;
const changesOf = (cases: readonly (readonly [unknown, unknown, string, string, string])[]) =>
  cases.map(([, , field, from, to]) => ({ field, from, to }));

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
    const entry = plan({ job: withCases(job, jobCases), trigger }).find((e) => e.type === 'job')!;
    expect(entry.action).toBe('change');
    expect(entry.changes).toEqual(changesOf(jobCases));
  });

  it('lists the schedule fields of a trigger first (they reschedule it), then the others', () => {
    const entry = plan({ job, trigger: withCases(trigger, triggerCases) }).find((e) => e.type === 'trigger')!;
    expect(entry.action).toBe('change');
    expect(entry.reschedule).toBe(true);
    expect(entry.changes).toEqual(changesOf(triggerCases));
  });

  it('keeps the next fire when only fields outside the schedule change', () => {
    const entry = plan({ job, trigger: { ...trigger, priority: 5 } }).find((e) => e.type === 'trigger')!;
    expect(entry.changes).toEqual([{ field: 'priority', from: '0', to: '5' }]);
    expect(entry.reschedule).toBeUndefined();
  });
});
