/**
 * The admin commands as operators run them: real `belfry` processes against a test schema. Spawns are
 * the cost here (about a second each), so independent commands run side by side.
 */
import { sql } from 'kysely';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Executor } from '../../../src/store/executor.js';
import { useTestSchema } from '../../support/schema.js';
import { countRows, seedAdminState, triggerStates } from './admin-fixtures.js';
import { runBelfry, type BelfryRun } from './belfry-run.js';

const database = useTestSchema();
let ex: Executor;

function belfry(...args: string[]): Promise<BelfryRun> {
  return runBelfry(database.schema, args);
}

const json = <T = unknown>(run: BelfryRun): T => {
  expect(run.code, run.stderr).toBe(0);
  return JSON.parse(run.stdout) as T;
};

beforeAll(async () => {
  ex = { db: database.db, schema: database.schema };
  await seedAdminState(ex);
});

describe('belfry admin commands', () => {
  it('lists triggers and the cluster, and queries history with filters', async () => {
    const [
      triggers,
      table,
      cluster,
      clusterTable,
      all,
      jobStatus,
      repeated,
      window,
      instance,
      errorText,
      badRange,
      badStatus,
      badDuration,
    ] = await Promise.all([
      belfry('triggers', '--json'),
      belfry('triggers', '--group', 'reports'),
      belfry('cluster', '--json'),
      belfry('cluster'),
      belfry('history', '--json'),
      belfry('history', '--job', 'sync', '--status', 'failed,timed_out', '--json'),
      belfry('history', '--status', 'failed', '--status', 'timed_out', '--json'),
      belfry('history', '--since', '1d', '--until', '1h', '--csv'),
      belfry('history', '--instance', 'replica-b', '--min-duration', '1s', '--json'),
      belfry('history', '--error', 'UPSTREAM'),
      belfry('history', '--since', '1h', '--until', '1d'),
      belfry('history', '--status', 'exploded'),
      belfry('history', '--min-duration', 'soon'),
    ]);

    expect(json(triggers)).toEqual([
      expect.objectContaining({
        name: 'report-held',
        job: 'report',
        group: 'reports',
        nextFireAt: '2099-01-01T00:00:00.000Z',
        paused: true,
      }),
      expect.objectContaining({
        name: 'report-hourly',
        job: 'report',
        group: 'reports',
        nextFireAt: '2099-01-01T00:00:00.000Z',
        paused: false,
      }),
      expect.objectContaining({ name: 'sync-often', job: 'sync', group: 'sync', paused: false }),
    ]);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/^name\s+job\s+group/);
    expect(table.stdout).toContain('report-hourly');
    expect(table.stdout).not.toContain('sync-often');

    const state = json<{
      leader: { holderName: string; epoch: number; valid: boolean };
      instances: { name: string; checkinAgeMs: number }[];
    }>(cluster);
    expect(state.leader).toMatchObject({ holderName: 'replica-a', epoch: 1, valid: true });
    expect(state.instances.map((i) => i.name)).toEqual(['replica-a']);
    expect(clusterTable.stdout).toContain('leader: replica-a (epoch 1)');

    expect(json<unknown[]>(all)).toHaveLength(6);
    expect(json<{ status: string; trigger: string }[]>(jobStatus)).toEqual([
      expect.objectContaining({ status: 'timed_out', trigger: 'sync-often' }),
    ]);
    expect(json<{ status: string }[]>(repeated).map((r) => r.status)).toEqual(['timed_out', 'failed']);
    expect(window.code, window.stderr).toBe(0);
    const csv = window.stdout.trim().split('\n');
    expect(csv[0]).toBe(
      'executionId,job,trigger,triggerGroup,scheduledAt,firedAt,startedAt,finishedAt,lagMs,durationMs,instance,attempt,status,error,traceId',
    );
    expect(csv.slice(1).map((line) => line.split(',')[2])).toEqual([
      'report-hourly',
      'report-hourly',
      'report-hourly',
    ]);
    expect(json<{ instance: string; durationMs: number; attempt: number }[]>(instance)).toEqual([
      expect.objectContaining({ instance: 'replica-b', durationMs: 2_500, attempt: 2 }),
    ]);
    expect(errorText.stdout).toContain('Error: upstream returned 503');
    expect(errorText.stdout.trim().split('\n')).toHaveLength(3);

    expect(badRange.code).toBe(1);
    expect(badRange.stderr).toMatch(/--since \(.*\) must be before --until/);
    expect(badStatus.code).toBe(1);
    expect(badStatus.stderr).toMatch(/unknown status "exploded"/);
    expect(badDuration.code).toBe(1);
    expect(badDuration.stderr).toMatch(/--min-duration/);
  });

  it('pauses and resumes a trigger, a job, a group and everything; unknown names change nothing', async () => {
    const [trigger, job, unknownTrigger, unknownGroup, noTarget] = await Promise.all([
      belfry('pause', '--trigger', 'report-hourly', '--json'),
      belfry('pause', '--job', 'sync'),
      belfry('pause', '--trigger', 'nope'),
      belfry('resume', '--group', 'nope'),
      belfry('pause'),
    ]);
    expect(json(trigger)).toEqual({ target: { trigger: 'report-hourly' }, changed: 1 });
    expect(job.stdout).toBe('paused 1 trigger(s)\n');
    expect(unknownTrigger.code).toBe(1);
    expect(unknownTrigger.stderr).toMatch(/unknown trigger "nope": check the name .*; nothing was changed/);
    expect(unknownGroup.code).toBe(1);
    expect(unknownGroup.stderr).toMatch(/unknown group "nope"/);
    expect(noTarget.code).toBe(1);
    expect(noTarget.stderr).toMatch(/exactly one of --trigger, --job, --group or --all/);
    expect(await triggerStates(ex)).toEqual({
      'report-held': 'paused',
      'report-hourly': 'paused',
      'sync-often': 'paused',
    });

    const [group, resumeJob] = await Promise.all([
      belfry('resume', '--group', 'reports', '--json'),
      belfry('resume', '--job', 'sync', '--json'),
    ]);
    expect(json(group)).toEqual({ target: { group: 'reports' }, changed: 2 });
    expect(json(resumeJob)).toEqual({ target: { job: 'sync' }, changed: 1 });
    expect(Object.values(await triggerStates(ex))).toEqual(['waiting', 'waiting', 'waiting']);

    expect(json(await belfry('pause', '--all', '--json'))).toEqual({ target: { all: true }, changed: 3 });
    expect(Object.values(await triggerStates(ex))).toEqual(['paused', 'paused', 'paused']);
    expect((await belfry('resume', '--all')).stdout).toBe('resumed 3 trigger(s)\n');
  });

  it('fires a job with data; bad JSON, a bad instant or an unknown job exit non-zero and change nothing', async () => {
    const before = await countRows(ex, 'triggers');
    const [badJson, notObject, noOffset, unknown] = await Promise.all([
      belfry('fire', 'report', '--data', '{"region": '),
      belfry('fire', 'report', '--data', '[1, 2]'),
      belfry('fire', 'report', '--at', '2031-01-01T09:00:00'),
      belfry('fire', 'ghost', '--data', '{}'),
    ]);
    expect(badJson.code).toBe(1);
    expect(badJson.stderr).toMatch(/--data: data is not valid JSON/);
    expect(notObject.code).toBe(1);
    expect(notObject.stderr).toMatch(/--data: data must be a JSON object/);
    expect(noOffset.code).toBe(1);
    expect(noOffset.stderr).toMatch(/--at: .*offset/);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/unknown job "ghost": check the name .*; nothing was changed/);
    expect(await countRows(ex, 'triggers')).toBe(before);

    const fired = json<{ trigger: string; job: string; at: string }>(
      await belfry(
        'fire',
        'report',
        '--data',
        '{"region":"eu"}',
        '--at',
        '2031-01-01T09:00:00+02:00',
        '--json',
      ),
    );
    expect(fired).toMatchObject({ job: 'report', at: '2031-01-01T07:00:00.000Z' });
    const { rows } = await sql<{ data: unknown; group_name: string; kind: string; next_fire_at: Date }>`
      SELECT data, group_name, kind, next_fire_at FROM ${sql.table(`${ex.schema}.triggers`)} WHERE name = ${fired.trigger}`.execute(
      ex.db,
    );
    expect(rows).toEqual([
      {
        data: { region: 'eu' },
        group_name: 'one-off',
        kind: 'once',
        next_fire_at: new Date('2031-01-01T07:00:00Z'),
      },
    ]);
  });

  it('audits a window: clean exits 0, a missing fire exits 1', async () => {
    await sql`UPDATE ${sql.table(`${ex.schema}.triggers`)} SET created_at = now() - interval '2 days' WHERE name = 'report-hourly'`.execute(
      ex.db,
    );
    const [clean, broken] = await Promise.all([
      belfry('audit', '--since', '1h', '--trigger', 'sync-%', '--json'),
      belfry('audit', '--since', '1d', '--trigger', 'report-hourly'),
    ]);
    expect(json<{ ok: boolean }>(clean).ok).toBe(true);
    expect(broken.code).toBe(1);
    expect(broken.stdout).toMatch(/^VIOLATIONS: 1 triggers/);
    expect(broken.stdout).toMatch(/missing fire: report-hourly at /);
  });
});
