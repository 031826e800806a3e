import { sql } from 'kysely';
import { Command } from 'commander';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { applyDefinitions, applyPlan, planApply } from '../../../src/config/definition-reconciler.js';
import { loadDefinitions } from '../../../src/config/definition-loader.js';
import { formatDefinitionError } from '../../../src/config/definition-error.js';
import type { Definitions } from '../../../src/config/definitions.js';
import { formatPlan, formatPlanSummary } from '../../../src/config/plan-format.js';
import { registerApplyCommand } from '../../../src/cli/apply-command.js';
import { openDatabase, type BelfryDatabase } from '../../../src/store/database.js';
import type { Executor } from '../../../src/store/executor.js';
import { compileSchedule } from '../../../src/time/schedule.js';
import { testDatabaseUrl } from '../../support/schema.js';
import { yaml, type DefinitionDir } from '../../unit/config/definition-files.js';
import { closeApplyFixture, openApplyFixture } from './apply-fixture.js';

let database: BelfryDatabase;
let ex: Executor;
let files: DefinitionDir;

beforeEach(async () => {
  ({ database, ex, files } = await openApplyFixture());
});
afterEach(() => closeApplyFixture({ database, files }));

const BASE = yaml`
  calendars:
    office:
      type: holiday
      dates: [2030-12-24]
  jobs:
    report:
      module: ./jobs/report.ts
      timeout: 30s
    ping:
      type: http
      url: https://example.com/health
      headers: { Authorization: { env: PING_TOKEN } }
  triggers:
    report-nightly:
      job: report
      cron: "0 2 * * *"
      timezone: Europe/Paris
      calendar: office
      priority: 1
    ping-often:
      job: ping
      every: 30s
    held:
      job: report
      every: 1h
      paused: true
    later:
      job: report
      every: 1m
      start: 2099-01-01T00:00:30Z
      count: 3
`;

async function load(text: string, name = 'belfry.yaml'): Promise<Definitions> {
  const result = await loadDefinitions([files.write(name, text)]);
  if (!result.ok) throw new Error(result.errors.map(formatDefinitionError).join('\n'));
  return result.definitions;
}

async function triggerRows() {
  const { rows } = await sql<{
    name: string;
    state: string;
    next_fire_at: Date | null;
    priority: number;
    data: unknown;
    version: number;
    updated_at: Date;
  }>`
    SELECT name, state, next_fire_at, priority, data, version, updated_at FROM ${sql.table(`${database.schema}.triggers`)} ORDER BY name`.execute(
    database.db,
  );
  return Object.fromEntries(rows.map((row) => [row.name, row]));
}

/** Everything apply may touch, for before/after comparisons. */
async function snapshot() {
  const read = async (table: string) =>
    (
      await sql<
        Record<string, unknown>
      >`SELECT * FROM ${sql.table(`${database.schema}.${table}`)} ORDER BY name`.execute(database.db)
    ).rows;
  return { jobs: await read('jobs'), triggers: await read('triggers'), calendars: await read('calendars') };
}

async function dbNow(): Promise<Date> {
  const { rows } = await sql<{ now: Date }>`SELECT now() AS now`.execute(database.db);
  return rows[0]!.now;
}

describe('apply', () => {
  it('creates calendars, jobs and triggers with their first fire times', async () => {
    // Loaded first, and bounded by `after` too: the first fire is at most one period after the
    // apply's own clock reading, which lies somewhere between `before` and `after` (a busy machine
    // once put a 30 s boundary between the two).
    const definitions = await load(BASE);
    const before = await dbNow();
    const plan = await applyDefinitions(ex, definitions);
    const after = await dbNow();
    const text = formatPlan(plan);
    expect(text).toContain('+ calendar office (holiday, 1 date)');
    expect(text).toContain('+ job ping (http GET https://example.com/health)');
    expect(text).toMatch(
      /\+ trigger report-nightly \(cron 0 2 \* \* \* Europe\/Paris, calendar office, next 20\d\d-/,
    );
    expect(text).toContain('+ trigger held (every 1h, paused, next ');
    expect(formatPlanSummary(plan)).toBe('7 to add, 0 to change, 0 to remove, 0 leftover, 0 unchanged');

    const rows = await triggerRows();
    expect(rows.held!.state).toBe('paused');
    expect(rows['ping-often']!.state).toBe('waiting');
    const every30 = rows['ping-often']!.next_fire_at!;
    expect(every30.getTime() % 30_000).toBe(0);
    expect(every30.getTime()).toBeGreaterThan(before.getTime());
    expect(every30.getTime() - after.getTime()).toBeLessThanOrEqual(30_000);
    // Not before its start: the first fire is the start itself (the interval is anchored there).
    expect(rows.later!.next_fire_at).toEqual(new Date('2099-01-01T00:00:30Z'));
    const expected = compileSchedule({
      kind: 'cron',
      expression: '0 2 * * *',
      timezone: 'Europe/Paris',
    }).next(before)!;
    expect(rows['report-nightly']!.next_fire_at).toEqual(expected);

    const { rows: jobs } = await sql<{
      name: string;
      module: string | null;
      data: Record<string, unknown>;
      source: string;
    }>`
      SELECT name, module, data, source FROM ${sql.table(`${database.schema}.jobs`)} ORDER BY name`.execute(
      database.db,
    );
    expect(jobs).toEqual([
      {
        name: 'ping',
        module: null,
        source: 'yaml',
        data: {
          $builtin: {
            type: 'http',
            url: 'https://example.com/health',
            method: 'GET',
            headers: { Authorization: { env: 'PING_TOKEN' } },
          },
        },
      },
      { name: 'report', module: './jobs/report.ts', source: 'yaml', data: {} },
    ]);
  });

  it('is a no-op when applied again: everything unchanged, nothing written', async () => {
    const definitions = await load(BASE);
    await applyDefinitions(ex, definitions);
    const before = await snapshot();
    const again = await applyDefinitions(ex, definitions);
    expect(formatPlan(again)).toBe('= 7 unchanged');
    expect(await snapshot()).toEqual(before);
  });

  it('keeps the next fire time when only priority or data change', async () => {
    await applyDefinitions(ex, await load(BASE));
    // A fire time the schedule would never compute, so keeping it is visible.
    await sql`UPDATE ${sql.table(`${database.schema}.triggers`)} SET next_fire_at = '2031-05-05T05:05:05Z' WHERE name = 'report-nightly'`.execute(
      database.db,
    );
    const changed = BASE.replace('    priority: 1\n', '    priority: 7\n    data: { format: pdf }\n');
    const plan = await applyDefinitions(ex, await load(changed));
    expect(formatPlan(plan)).toContain(
      '~ trigger report-nightly: priority 1 → 7, data none → {"format":"pdf"} (next fire kept)',
    );
    const row = (await triggerRows())['report-nightly']!;
    expect(row).toMatchObject({ priority: 7, data: { format: 'pdf' }, version: 2 });
    expect(row.next_fire_at).toEqual(new Date('2031-05-05T05:05:05Z'));
  });

  it('records a schedule change for the planner, keeping the stored next fire (issue #10)', async () => {
    await applyDefinitions(ex, await load(BASE));
    await sql`UPDATE ${sql.table(`${database.schema}.triggers`)} SET next_fire_at = '2031-05-05T05:05:05Z', state = 'paused' WHERE name = 'report-nightly'`.execute(
      database.db,
    );
    const before = await dbNow();
    const plan = await applyDefinitions(
      ex,
      await load(BASE.replace('cron: "0 2 * * *"', 'cron: "30 4 * * *"')),
    );
    expect(formatPlan(plan)).toMatch(
      /~ trigger report-nightly: schedule cron 0 2 \* \* \* Europe\/Paris, calendar office → cron 30 4 \* \* \* Europe\/Paris, calendar office \(next fire recomputed, next 20/,
    );
    const row = (await triggerRows())['report-nightly']!;
    // Apply does not decide the next fire (architecture invariant 6): it records when the schedule
    // changed, and the planner moves the next fire under the acquisition lock.
    expect(row.next_fire_at).toEqual(new Date('2031-05-05T05:05:05Z'));
    const { rows: replans } = await sql<{ replan_at: Date }>`
      SELECT replan_at FROM ${sql.table(`${database.schema}.triggers`)} WHERE name = 'report-nightly'`.execute(
      database.db,
    );
    expect(replans[0]!.replan_at.getTime()).toBeGreaterThanOrEqual(before.getTime() - 1_000);
    // The plan still previews the new schedule's next fire.
    expect(plan.entries.find((e) => e.name === 'report-nightly')!.nextFireAt).toEqual(
      compileSchedule({ kind: 'cron', expression: '30 4 * * *', timezone: 'Europe/Paris' })
        .next(before)!
        .toISOString(),
    );
    // An operator's pause survives a schedule change (the file does not say paused: false).
    expect(row.state).toBe('paused');
  });

  it('reports leftovers without --prune and deletes them with it', async () => {
    await applyDefinitions(ex, await load(BASE));
    const smaller = yaml`
      jobs:
        report: { module: ./jobs/report.ts, timeout: 30s }
      triggers:
        held: { job: report, every: 1h, paused: true }
    `;
    const kept = await applyDefinitions(ex, await load(smaller));
    expect(formatPlan(kept)).toBe(
      [
        '! calendar office: in the database, in no file (kept; --prune deletes it)',
        '! job ping: in the database, in no file (kept; --prune deletes it)',
        '! trigger later: in the database, in no file (kept; --prune deletes it)',
        '! trigger ping-often: in the database, in no file (kept; --prune deletes it)',
        '! trigger report-nightly: in the database, in no file (kept; --prune deletes it)',
        '= 2 unchanged',
      ].join('\n'),
    );
    expect(Object.keys(await triggerRows())).toHaveLength(4);

    const pruned = await applyDefinitions(ex, await load(smaller), { prune: true });
    expect(formatPlanSummary(pruned)).toBe('0 to add, 0 to change, 5 to remove, 0 leftover, 2 unchanged');
    const after = await snapshot();
    expect(after.triggers.map((row) => row.name)).toEqual(['held']);
    expect(after.jobs.map((row) => row.name)).toEqual(['report']);
    expect(after.calendars).toEqual([]);
  });

  it('changes nothing on a dry run (planApply, and belfry apply --dry-run)', async () => {
    await applyDefinitions(ex, await load(BASE));
    const before = await snapshot();
    const changed = await load(BASE.replace('timeout: 30s', 'timeout: 1m'));
    const plan = await planApply(ex, changed, { prune: true });
    expect(formatPlan(plan)).toBe('~ job report: timeout 30s → 1m\n= 6 unchanged');
    expect(await snapshot()).toEqual(before);

    const file = files.write('changed.yaml', BASE.replace('timeout: 30s', 'timeout: 1m'));
    let out = '';
    const program = new Command().exitOverride();
    registerApplyCommand(program, { write: (text) => (out += text) });
    const cli = [
      'node',
      'belfry',
      'apply',
      file,
      '--database-url',
      testDatabaseUrl(),
      '--schema',
      database.schema,
    ];
    await program.parseAsync([...cli, '--dry-run']);
    expect(out).toBe(
      '~ job report: timeout 30s → 1m\n= 6 unchanged\nDry run, nothing changed: 0 to add, 1 to change, 0 to remove, 0 leftover, 6 unchanged\n',
    );
    expect(await snapshot()).toEqual(before);

    out = '';
    const second = new Command().exitOverride();
    registerApplyCommand(second, { write: (text) => (out += text) });
    await second.parseAsync([...cli, '--json']);
    expect(JSON.parse(out)).toMatchObject({
      dryRun: false,
      applied: true,
      counts: { change: 1, unchanged: 6 },
    });
    expect((await snapshot()).jobs.find((row) => row.name === 'report')).toMatchObject({
      timeout_ms: 60_000,
    });
  });

  it('rolls everything back when the apply fails midway', async () => {
    await applyDefinitions(ex, await load(BASE));
    const before = await snapshot();
    const changed = await load(
      BASE.replace('timeout: 30s', 'timeout: 1m').replace('priority: 1', 'priority: 9'),
    );
    // A trigger whose job exists nowhere: the loader would refuse it, so build it by hand to make the
    // database refuse it after the job and the other trigger were already written.
    const orphan = {
      ...changed.triggers[0]!,
      name: 'zz-orphan',
      record: { ...changed.triggers[0]!.record, name: 'zz-orphan', job: 'no-such-job' },
    };
    const broken = { ...changed, triggers: [...changed.triggers, orphan] };
    await expect(applyPlan(ex, { definitions: broken, prune: true })).rejects.toThrow(/foreign key|violates/);
    expect(await snapshot()).toEqual(before);
  });

  it('gives one consistent result when four replicas apply the same files at once', async () => {
    const definitions = await load(BASE);
    const replicas = Array.from({ length: 4 }, () =>
      openDatabase({ connectionString: testDatabaseUrl(), schema: database.schema, maxConnections: 2 }),
    );
    try {
      const plans = await Promise.all(
        replicas.map((replica) => applyDefinitions({ db: replica.db, schema: replica.schema }, definitions)),
      );
      const summaries = plans.map(formatPlanSummary).sort();
      expect(summaries).toEqual([
        '0 to add, 0 to change, 0 to remove, 0 leftover, 7 unchanged',
        '0 to add, 0 to change, 0 to remove, 0 leftover, 7 unchanged',
        '0 to add, 0 to change, 0 to remove, 0 leftover, 7 unchanged',
        '7 to add, 0 to change, 0 to remove, 0 leftover, 0 unchanged',
      ]);
      const rows = await triggerRows();
      expect(Object.keys(rows)).toEqual(['held', 'later', 'ping-often', 'report-nightly']);
      expect(Object.values(rows).every((row) => row.version === 1)).toBe(true);
    } finally {
      await Promise.all(replicas.map((replica) => replica.destroy()));
    }
  });
});
