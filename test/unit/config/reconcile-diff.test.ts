import { describe, expect, it } from 'vitest';
import type { Definitions, TriggerDefinition } from '../../../src/config/definitions.js';
import { planAgainst } from '../../../src/config/definition-reconciler.js';
import { diffDefinitions, type StoredDefinitions } from '../../../src/config/reconcile-diff.js';
import { formatPlan, formatPlanSummary } from '../../../src/config/plan-format.js';
import type { StoredTrigger, TriggerRecord } from '../../../src/store/definition-store.js';
import { jobRecord, triggerRecord } from '../../support/definition-records.js';

const at = { file: 'belfry.yaml', line: 1, column: 1 };
const job = jobRecord;
const trigger = triggerRecord;
const stored = (record: TriggerRecord, state: StoredTrigger['state'] = 'waiting'): StoredTrigger => ({
  ...record,
  // jsonb hands keys back in its own order: the diff must not care.
  spec: Object.fromEntries(Object.entries(record.spec as object).reverse()),
  id: '1',
  state,
  nextFireAt: new Date('2030-01-01T02:00:00Z'),
  previousFireAt: null,
  timesFired: 0,
  version: 1,
  pausedReason: null,
  replanAt: null,
});
const definitions = (triggers: TriggerDefinition[], jobs = [job('report')]): Definitions => ({
  files: ['belfry.yaml'],
  calendars: [],
  jobs: jobs.map((record) => ({
    name: record.name,
    record,
    options: {},
    implementation: {
      kind: 'module',
      module: record.module!,
      modulePath: '/x',
      exportName: 'default',
      moduleAt: at,
      exportAt: at,
    },
    at,
  })),
  triggers,
});

describe('diffDefinitions and formatPlan', () => {
  it('reports added, changed (with fields), leftover and unchanged definitions', () => {
    const database: StoredDefinitions = {
      calendars: [],
      jobs: [
        { ...job('report', { timeoutMs: 60_000 }), paused: false },
        { ...job('old'), paused: false },
        { ...job('from-code', { source: 'code' }), paused: false },
      ],
      triggers: [
        stored(trigger('same')),
        stored(trigger('moved')),
        stored(trigger('reprioritized')),
        stored(trigger('gone')),
        stored(trigger('one-off', { source: 'api' })),
      ],
    };
    const wanted = definitions([
      { name: 'same', record: trigger('same'), paused: undefined, at },
      {
        name: 'moved',
        record: trigger('moved', { spec: { kind: 'cron', expression: '0 3 * * *', timezone: 'UTC' } }),
        paused: undefined,
        at,
      },
      {
        name: 'reprioritized',
        record: trigger('reprioritized', { priority: 5, data: { a: 1 } }),
        paused: true,
        at,
      },
      {
        name: 'new',
        record: trigger('new', { kind: 'interval', spec: { kind: 'interval', everyMs: 3_000 } }),
        paused: undefined,
        at,
      },
    ]);
    const entries = diffDefinitions(database, wanted, { prune: false });
    const plan = { entries };
    expect(formatPlan(plan)).toBe(
      [
        '+ trigger new (every 3s)',
        '~ job report: timeout 1m → 30s',
        '~ trigger moved: schedule cron 0 2 * * * → cron 0 3 * * * (next fire recomputed)',
        '~ trigger reprioritized: priority 0 → 5, data none → {"a":1}, paused false → true (next fire kept)',
        '! job old: in the database, in no file (kept; --prune deletes it)',
        '! trigger gone: in the database, in no file (kept; --prune deletes it)',
        '= 1 unchanged',
      ].join('\n'),
    );
    expect(formatPlanSummary(plan)).toBe('1 to add, 3 to change, 0 to remove, 2 leftover, 1 unchanged');
    expect(entries.find((entry) => entry.name === 'moved')).toMatchObject({ reschedule: true });
    expect(entries.find((entry) => entry.name === 'reprioritized')).toMatchObject({ setPaused: true });
    expect(entries.find((entry) => entry.name === 'reprioritized')!.reschedule).toBeUndefined();

    const pruned = diffDefinitions(database, wanted, { prune: true });
    expect(formatPlan({ entries: pruned })).toContain('- trigger gone (yaml, waiting; pruned)');
    expect(formatPlan({ entries: pruned })).toContain('- job old (pruned)');
    // Rows that did not come from YAML are not the definitions' business.
    expect(pruned.map((entry) => entry.name)).not.toContain('one-off');
    expect(pruned.map((entry) => entry.name)).not.toContain('from-code');
  });

  it('reschedules the triggers of a calendar whose dates changed, and resumes only on paused: false', () => {
    const record = trigger('t', {
      spec: { kind: 'cron', expression: '0 9 * * *', timezone: 'UTC', calendar: 'office' },
      calendarName: 'office',
    });
    const database: StoredDefinitions = {
      calendars: [{ name: 'office', spec: { kind: 'holiday', dates: ['2030-01-01'] }, source: 'yaml' }],
      jobs: [{ ...job('report'), paused: false }],
      triggers: [stored(record, 'paused')],
    };
    const wanted: Definitions = {
      ...definitions([{ name: 't', record, paused: undefined, at }]),
      calendars: [{ name: 'office', spec: { kind: 'holiday', dates: ['2030-01-01', '2030-01-02'] }, at }],
    };
    const entries = diffDefinitions(database, wanted, { prune: false });
    expect(formatPlan({ entries })).toBe(
      [
        '~ calendar office: spec holiday, 1 date → holiday, 2 dates',
        '~ trigger t: calendar office (before) → office (changed) (next fire recomputed)',
        '= 1 unchanged',
      ].join('\n'),
    );
    const resumed = diffDefinitions(
      database,
      { ...wanted, triggers: [{ name: 't', record, paused: false, at }] },
      { prune: false },
    );
    expect(resumed.find((entry) => entry.name === 't')).toMatchObject({ setPaused: false });
  });
});

describe('what a prune deletes, and what it refuses', () => {
  const jobs = [
    { ...job('report'), paused: false },
    { ...job('legacy'), paused: false },
  ];
  const defined = definitions([{ name: 'nightly', record: trigger('nightly'), paused: undefined, at }]);
  const database = (triggers: StoredTrigger[], calendars: StoredDefinitions['calendars'] = []) => ({
    jobs,
    triggers: [stored(trigger('nightly')), ...triggers],
    calendars,
  });

  it('lists the API and code triggers a pruned job takes with it, and refuses them without force', () => {
    const state = database([
      stored(trigger('old-yaml', { job: 'legacy' })),
      stored(trigger('fire-now-1', { job: 'legacy', source: 'api', kind: 'once' }), 'waiting'),
      stored(trigger('from-code', { job: 'legacy', source: 'code' }), 'paused'),
      stored(trigger('fired-long-ago', { job: 'legacy', source: 'api' }), 'complete'),
    ]);
    const refused = planAgainst(state, defined, { prune: true });
    expect(formatPlan(refused)).toBe(
      [
        '- job legacy (pruned)',
        '- trigger fire-now-1 (api, waiting; deleted with job legacy)',
        '- trigger fired-long-ago (api, complete; deleted with job legacy)',
        '- trigger from-code (code, paused; deleted with job legacy)',
        '- trigger old-yaml (yaml, waiting; pruned)',
        '= 2 unchanged',
      ].join('\n'),
    );
    // A complete one-off needs nothing; the live ones are named, in one line.
    expect(refused.refusals.map((refusal) => refusal.message)).toEqual([
      'cannot prune job legacy: triggers not from YAML still use it: fire-now-1 (api, waiting), from-code (code, paused); delete them first, or pass --force to delete them with the job',
    ]);

    const forced = planAgainst(state, defined, { prune: true, force: true });
    expect(forced.refusals).toEqual([]);
    expect(formatPlanSummary(forced)).toBe('0 to add, 0 to change, 5 to remove, 0 leftover, 2 unchanged');

    // Without --prune nothing is deleted, so nothing is refused.
    expect(planAgainst(state, defined, { prune: false }).refusals).toEqual([]);
  });

  it('never deletes a calendar that a surviving trigger or calendar uses, not even with force', () => {
    const yamlCalendar = (name: string, base?: string) => ({
      name,
      spec: { kind: 'holiday', dates: ['2030-01-01'], ...(base ? { base } : {}) },
      source: 'yaml',
    });
    const onCalendar = (name: string, calendar: string, changes: Partial<TriggerRecord> = {}) =>
      trigger(name, {
        spec: { kind: 'cron', expression: '0 9 * * *', timezone: 'UTC', calendar },
        calendarName: calendar,
        ...changes,
      });
    const state = database(
      [
        stored(onCalendar('api-uses-office', 'office', { source: 'api' })),
        // Pruned in the same apply: not a user afterwards.
        stored(onCalendar('yaml-uses-shop', 'shop')),
      ],
      [
        yamlCalendar('office'),
        yamlCalendar('shop'),
        yamlCalendar('base-only'),
        { ...yamlCalendar('regional', 'base-only'), source: 'code' },
      ],
    );
    for (const force of [false, true]) {
      const plan = planAgainst(state, defined, { prune: true, force });
      expect(plan.refusals.map((refusal) => refusal.message)).toEqual([
        'cannot prune calendar office: still used by trigger api-uses-office (api); a calendar in use is never deleted, not even with --force',
        'cannot prune calendar base-only: still used by calendar regional (base); a calendar in use is never deleted, not even with --force',
      ]);
    }
    // A trigger in the files counts as a user too.
    const withFile: Definitions = {
      ...defined,
      triggers: [{ name: 'nightly', record: onCalendar('nightly', 'shop'), paused: undefined, at }],
    };
    const plan = planAgainst({ ...state, calendars: [yamlCalendar('shop')] }, withFile, {
      prune: true,
      force: true,
    });
    expect(plan.refusals.map((refusal) => refusal.name)).toEqual(['shop']);
  });
});
