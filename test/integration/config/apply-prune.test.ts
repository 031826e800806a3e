/**
 * `belfry apply --prune` shows everything it deletes, including what a pruned job takes with it, and
 * refuses what triggers and calendars outside the files still need.
 */
import { sql } from 'kysely';
import { Command } from 'commander';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { registerApplyCommand } from '../../../src/cli/apply-command.js';
import { applyDefinitions } from '../../../src/config/definition-reconciler.js';
import { loadDefinitions } from '../../../src/config/definition-loader.js';
import { formatDefinitionError } from '../../../src/config/definition-error.js';
import { PruneRefusedError } from '../../../src/config/prune-impact.js';
import type { BelfryDatabase } from '../../../src/store/database.js';
import { deleteJob, insertOneOffTrigger } from '../../../src/store/definition-store.js';
import type { Executor } from '../../../src/store/executor.js';
import { lockJobsForDelete } from '../../../src/store/prune-store.js';

import type { DefinitionDir } from '../../unit/config/definition-files.js';
import { BASE, runApply, schemaFingerprint, SMALLER } from './apply-cli.js';
import { closeApplyFixture, openApplyFixture } from './apply-fixture.js';

let database: BelfryDatabase;
let ex: Executor;
let files: DefinitionDir;

beforeEach(async () => {
  ({ database, ex, files } = await openApplyFixture());
});
afterEach(() => closeApplyFixture({ database, files }));

async function applyFile(text: string): Promise<void> {
  const result = await loadDefinitions([files.write('belfry.yaml', text)]);
  if (!result.ok) throw new Error(result.errors.map(formatDefinitionError).join('\n'));
  await applyDefinitions(ex, result.definitions);
}

const belfry = (args: string[], schema = database.schema) => runApply(args, schema);
const fingerprint = (schema = database.schema) => schemaFingerprint(database.db, schema);

async function triggerNames(): Promise<string[]> {
  const { rows } = await sql<{
    name: string;
  }>`SELECT name FROM ${sql.table(`${database.schema}.triggers`)} ORDER BY name`.execute(database.db);
  return rows.map((row) => row.name);
}

describe('apply --prune', () => {
  it('refuses to delete a job that an API one-off still uses, and with --force lists and deletes it', async () => {
    await applyFile(BASE);
    await insertOneOffTrigger(ex, {
      name: 'ping-by-hand',
      job: 'ping',
      group: 'one-off',
      at: new Date('2099-01-01T00:00:00Z'),
      data: null,
    });
    // A fire already recorded for it, with a retry pending: history must outlive the prune.
    await sql`
      WITH fire AS (
        INSERT INTO ${sql.table(`${database.schema}.fires`)} (trigger_id, trigger_name, trigger_group, job_name, scheduled_at)
        SELECT id, name, group_name, job_name, '2029-01-01T00:00:00Z' FROM ${sql.table(`${database.schema}.triggers`)}
         WHERE name = 'ping-by-hand' RETURNING id, scheduled_at)
      INSERT INTO ${sql.table(`${database.schema}.executions`)} (fire_id, scheduled_at, attempt, job_name, status)
      SELECT id, scheduled_at, 2, 'ping', 'pending' FROM fire`.execute(database.db);
    const file = files.write('smaller.yaml', SMALLER);
    const before = await fingerprint();

    const refused = await belfry([file, '--prune']);
    expect(refused.exitCode).toBe(1);
    expect(refused.err).toBe(
      'apply refused, nothing was changed: cannot prune job ping: trigger not from YAML still uses it: ping-by-hand (api, waiting); delete it first, or pass --force to delete it with the job\n',
    );
    // The plan still shows everything the prune would delete.
    expect(refused.out).toContain('- trigger ping-by-hand (api, waiting; deleted with job ping)');
    expect(await fingerprint()).toEqual(before);

    // A dry run says the same, and also exits non-zero.
    const dry = await belfry([file, '--prune', '--dry-run']);
    expect(dry.exitCode).toBe(1);
    expect(dry.err).toMatch(/^apply would be refused: cannot prune job ping: .*ping-by-hand/);
    const json = await belfry([file, '--prune', '--json']);
    expect(json.exitCode).toBe(1);
    expect(JSON.parse(json.out)).toMatchObject({
      applied: false,
      refusals: [{ type: 'job', name: 'ping' }],
      entries: expect.arrayContaining([
        expect.objectContaining({
          type: 'trigger',
          name: 'ping-by-hand',
          action: 'remove',
          source: 'api',
          state: 'waiting',
          cascadeFrom: { type: 'job', name: 'ping' },
        }),
      ]),
    });
    expect(await fingerprint()).toEqual(before);

    const forced = await belfry([file, '--prune', '--force']);
    expect(forced).toMatchObject({ exitCode: 0, err: '' });
    expect(forced.out).toBe(
      [
        '- calendar office (pruned)',
        '- job ping (pruned; 1 pending or running execution is kept in the history without its job)',
        '- trigger ping-by-hand (api, waiting; deleted with job ping)',
        '- trigger ping-often (yaml, waiting; pruned)',
        '- trigger report-nightly (yaml, waiting; pruned)',
        '= 1 unchanged',
        'Applied: 0 to add, 0 to change, 5 to remove, 0 leftover, 1 unchanged',
        '',
      ].join('\n'),
    );
    expect(await triggerNames()).toEqual([]);
    const { rows: history } = await sql<{ trigger_id: string | null; status: string }>`
      SELECT f.trigger_id, e.status FROM ${sql.table(`${database.schema}.fires`)} f
        JOIN ${sql.table(`${database.schema}.executions`)} e ON e.fire_id = f.id`.execute(database.db);
    expect(history).toEqual([{ trigger_id: null, status: 'pending' }]);
  });

  it('refuses applyDefinitions with PruneRefusedError carrying the plan (what belfry start would see)', async () => {
    await applyFile(BASE);
    await sql`
      INSERT INTO ${sql.table(`${database.schema}.triggers`)} (name, job_name, kind, spec, source, state)
      VALUES ('coded', 'ping', 'interval', '{"kind":"interval","everyMs":1000}', 'code', 'paused')`.execute(
      database.db,
    );
    const smaller = await loadDefinitions([files.write('smaller.yaml', SMALLER)]);
    if (!smaller.ok) throw new Error('invalid');
    const before = await fingerprint();
    const error = await applyDefinitions(ex, smaller.definitions, { prune: true }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PruneRefusedError);
    expect((error as PruneRefusedError).message).toContain('coded (code, paused)');
    expect(await fingerprint()).toEqual(before);
  });

  it('never prunes a calendar that a trigger outside the files uses, with or without --force', async () => {
    await applyFile(BASE);
    await sql`
      INSERT INTO ${sql.table(`${database.schema}.triggers`)} (name, job_name, kind, spec, calendar_name, source)
      VALUES ('coded-on-office', 'report', 'cron',
              '{"kind":"cron","expression":"0 9 * * *","timezone":"UTC","calendar":"office"}', 'office', 'code')`.execute(
      database.db,
    );
    // Keeps ping, so only the calendar is at stake.
    const file = files.write(
      'no-calendar.yaml',
      BASE.replace(/calendars:[\s\S]*?jobs:/, 'jobs:').replace(/ {2}report-nightly:[\s\S]*?office\n/, ''),
    );
    const before = await fingerprint();
    for (const extra of [[], ['--force']]) {
      const result = await belfry([file, '--prune', ...extra]);
      expect(result.exitCode).toBe(1);
      expect(result.err).toBe(
        'apply refused, nothing was changed: cannot prune calendar office: still used by trigger coded-on-office (code); a calendar in use is never deleted, not even with --force\n',
      );
      expect(await fingerprint()).toEqual(before);
    }
  });

  it('holds a pruned job so that a one-off created meanwhile waits and fails instead of vanishing', async () => {
    await applyFile(BASE);
    const trx = await database.db.startTransaction().execute();
    try {
      const tx = { db: trx, schema: database.schema };
      await lockJobsForDelete(tx, { names: ['ping'] });
      const inserting = insertOneOffTrigger(ex, {
        name: 'late',
        job: 'ping',
        group: 'one-off',
        at: null,
        data: null,
      });
      const outcome = inserting.then(
        () => 'inserted',
        (error: { code?: string }) => error.code,
      );
      // The insert's foreign-key check waits on the lock (observed in pg_stat_activity, not by sleeping).
      let settled = false;
      void outcome.finally(() => (settled = true));
      for (let waiting = false; !waiting && !settled;) {
        const { rows } = await sql<{ count: string }>`
          SELECT count(*) AS count FROM pg_stat_activity
           WHERE wait_event_type = 'Lock' AND query LIKE '%jsonb_build_object%'`.execute(database.db);
        waiting = rows[0]!.count !== '0';
      }
      await deleteJob(tx, { name: 'ping' });
      await trx.commit().execute();
      expect(await outcome).toBe('23503');
    } catch (error) {
      await trx
        .rollback()
        .execute()
        .catch(() => {});
      throw error;
    }
    expect(await triggerNames()).toEqual(['report-nightly']);
  });

  it('documents --force in belfry apply --help, and wants --prune with it', async () => {
    const program = new Command();
    registerApplyCommand(program);
    const help = program.commands
      .find((command) => command.name() === 'apply')!
      .helpInformation()
      .replace(/\s+/g, ' ');
    expect(help).toContain('--force with --prune: also delete the API and code triggers of a pruned job');
    expect(help).toContain('--dry-run show the plan and change nothing (reads only: does not even migrate)');
    await applyFile(BASE);
    const result = await belfry([files.write('same.yaml', BASE), '--force']);
    expect(result).toMatchObject({
      exitCode: 1,
      err: '--force only changes what --prune may delete; add --prune\n',
    });
  });
});
