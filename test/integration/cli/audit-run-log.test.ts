/**
 * `belfry audit --run-log`: the handlers' own record of their runs held against the history, from the
 * command line. A run logged twice for one attempt is a violation the fire rows alone cannot show.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { formatClockLine, formatRunLine } from '../../../src/audit/run-log.js';
import { useTestSchema } from '../../support/schema.js';
import { defineJob } from '../../support/fixtures.js';
import { runBelfry } from './belfry-run.js';

const database = useTestSchema();
let dir: string;

/** `belfry ARGS…` against this file's schema. */
const belfry = (...args: string[]) => runBelfry(database.schema, args);

const INSTANCE = '00000000-0000-4000-8000-000000000001';
const SCHEDULED = new Date('2030-01-01T00:00:10Z');
let executionId: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'belfry-run-log-'));
  const ex = { db: database.db, schema: database.schema };
  await defineJob(ex, 'report');
  const t = (name: string) => sql.table(`${database.schema}.${name}`);
  await sql`INSERT INTO ${t('instances')} (id, name, host, pid, version, lock_key, state, stopped_at)
            VALUES (${INSTANCE}, 'replica-1', 'h', 1, 'v', 1, 'stopped', now())`.execute(database.db);
  const { rows } = await sql<{ id: string }>`
    WITH f AS (INSERT INTO ${t('fires')} (trigger_name, trigger_group, job_name, scheduled_at, instance_id)
               VALUES ('nightly', 'default', 'report', ${SCHEDULED}, ${INSTANCE}) RETURNING id, scheduled_at)
    INSERT INTO ${t('executions')} (fire_id, scheduled_at, attempt, job_name, status, instance_id, started_at, finished_at)
    SELECT id, scheduled_at, 1, 'report', 'succeeded', ${INSTANCE}, ${SCHEDULED}, ${SCHEDULED} FROM f RETURNING id`.execute(
    database.db,
  );
  executionId = String(rows[0]!.id);
});
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
});

function runLog(name: string, runs: number): string {
  const run = formatRunLine({
    trigger: 'nightly',
    scheduledAt: SCHEDULED,
    attempt: 1,
    executionId,
    instanceId: INSTANCE,
    pid: 42,
    wallTime: new Date(SCHEDULED.getTime() + 3),
  });
  const clock = formatClockLine({ pid: 42, wallTime: SCHEDULED, dbTime: SCHEDULED, rttMs: 1 });
  const file = join(dir, name);
  writeFileSync(file, clock + run.repeat(runs));
  return file;
}

it('checks a run log against the history: clean exits 0, a run logged twice exits 1', async () => {
  const window = ['--since', '2030-01-01T00:00:00Z', '--until', '2030-01-01T00:01:00Z'];
  const [clean, twice, missing] = await Promise.all([
    belfry('audit', ...window, '--run-log', runLog('clean.jsonl', 1), '--json'),
    belfry('audit', ...window, '--run-log', runLog('twice.jsonl', 2)),
    belfry('audit', ...window, '--run-log', join(dir, 'absent.jsonl')),
  ]);
  expect(clean.code, clean.stderr).toBe(0);
  const report = JSON.parse(clean.stdout) as { ok: boolean; runLog: { runsChecked: number; violations: [] } };
  expect(report.ok).toBe(true);
  expect(report.runLog.runsChecked).toBe(1);
  expect(report.runLog.violations).toEqual([]);

  expect(twice.code).toBe(1);
  expect(twice.stdout).toMatch(/^VIOLATIONS: /);
  expect(twice.stdout).toMatch(/run log: 2 runs, 1 attempts, 2 violations/);
  expect(twice.stdout).toMatch(/attempt-ran-twice: nightly at 2030-01-01T00:00:10.000Z/);
  expect(twice.stdout).toMatch(/fire-ran-twice: nightly at 2030-01-01T00:00:10.000Z/);

  expect(missing.code).not.toBe(0);
  expect(missing.stderr).toMatch(/cannot read the run log/);
});
