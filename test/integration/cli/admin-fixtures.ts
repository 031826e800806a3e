/**
 * A small, known admin state for the API and CLI tests: jobs, triggers (one paused), two instances (one
 * leading), and a hand-written history, with times relative to the database's now().
 */
import { sql } from 'kysely';
import { randomUUID } from 'node:crypto';
import type { Executor } from '../../../src/store/executor.js';
import { registerInstance } from '../../../src/store/instance-store.js';
import { acquireOrRenewLease } from '../../../src/store/leader-store.js';
import { lockNamespace } from '../../../src/store/lock-keys.js';
import { defineJob, defineTrigger } from '../../support/fixtures.js';

export interface AdminFixture {
  leaderId: string;
  otherId: string;
}

const FAR = new Date('2099-01-01T00:00:00Z');

export async function seedAdminState(ex: Executor): Promise<AdminFixture> {
  await defineJob(ex, 'report', { description: 'nightly report', maxAttempts: 2 });
  await defineJob(ex, 'sync');
  await defineTrigger(
    ex,
    {
      name: 'report-hourly',
      job: 'report',
      group: 'reports',
      spec: { kind: 'interval', everyMs: 3_600_000 },
    },
    FAR,
  );
  await defineTrigger(
    ex,
    { name: 'report-held', job: 'report', group: 'reports', spec: { kind: 'interval', everyMs: 3_600_000 } },
    FAR,
    { paused: true },
  );
  await defineTrigger(
    ex,
    { name: 'sync-often', job: 'sync', group: 'sync', spec: { kind: 'interval', everyMs: 60_000 } },
    FAR,
  );
  const leaderId = randomUUID();
  const otherId = randomUUID();
  await registerInstance(ex, {
    id: leaderId,
    name: 'replica-a',
    host: 'host-a',
    pid: 101,
    version: '0.1.0',
    lockKey: 1001,
  });
  await registerInstance(ex, {
    id: otherId,
    name: 'replica-b',
    host: 'host-b',
    pid: 102,
    version: '0.1.0',
    lockKey: 1002,
  });
  await sql`UPDATE ${sql.table(`${ex.schema}.instances`)} SET state = 'stopped', stopped_at = now() WHERE id = ${otherId}::uuid`.execute(
    ex.db,
  );
  await acquireOrRenewLease(ex, {
    instanceId: leaderId,
    ttlMs: 3_600_000,
    lockNamespace: lockNamespace(ex.schema),
    holderGraceMs: 3_600_000,
  });
  const rows: [
    trigger: string,
    group: string,
    job: string,
    ago: string,
    attempts: [status: string, instance: string, durationMs: number, error: string | null][],
  ][] = [
    [
      'report-hourly',
      'reports',
      'report',
      '3 hours',
      [
        ['failed', leaderId, 2_000, 'Error: upstream returned 503'],
        ['succeeded', otherId, 2_500, null],
      ],
    ],
    ['report-hourly', 'reports', 'report', '2 hours', [['succeeded', leaderId, 12_000, null]]],
    [
      'sync-often',
      'sync',
      'sync',
      '30 minutes',
      [['timed_out', leaderId, 30_000, 'timed out after 30000 ms']],
    ],
    ['sync-often', 'sync', 'sync', '10 minutes', [['succeeded', otherId, 100, null]]],
    ['sync-often', 'sync', 'sync', '2 days', [['succeeded', leaderId, 150, null]]],
  ];
  for (const [trigger, group, job, ago, attempts] of rows) {
    const { rows: fire } = await sql<{ id: string }>`
      INSERT INTO ${sql.table(`${ex.schema}.fires`)} (trigger_id, trigger_name, trigger_group, job_name, scheduled_at, fired_at, instance_id)
      SELECT t.id, t.name, ${group}, ${job}, date_trunc('second', now()) - ${ago}::interval,
             date_trunc('second', now()) - ${ago}::interval + interval '5 milliseconds', ${leaderId}::uuid
        FROM ${sql.table(`${ex.schema}.triggers`)} t WHERE t.name = ${trigger}
      RETURNING id`.execute(ex.db);
    let offsetMs = 10;
    for (const [index, [status, instance, durationMs, error]] of attempts.entries()) {
      await sql`
        INSERT INTO ${sql.table(`${ex.schema}.executions`)} (fire_id, scheduled_at, attempt, job_name, status, instance_id, run_at, started_at, finished_at, error)
        SELECT f.id, f.scheduled_at, ${index + 1}, ${job}, ${status}, ${instance}::uuid, f.scheduled_at + ${offsetMs} * interval '1 millisecond',
               f.scheduled_at + ${offsetMs} * interval '1 millisecond',
               f.scheduled_at + ${offsetMs + durationMs} * interval '1 millisecond', ${error}
          FROM ${sql.table(`${ex.schema}.fires`)} f WHERE f.id = ${fire[0]!.id}`.execute(ex.db);
      offsetMs += durationMs + 1_000;
    }
  }
  return { leaderId, otherId };
}

export async function triggerStates(ex: Executor): Promise<Record<string, string>> {
  const { rows } = await sql<{
    name: string;
    state: string;
  }>`SELECT name, state FROM ${sql.table(`${ex.schema}.triggers`)} ORDER BY name`.execute(ex.db);
  return Object.fromEntries(rows.map((row) => [row.name, row.state]));
}

export async function countRows(
  ex: Executor,
  table: 'triggers' | 'jobs' | 'fires' | 'executions',
): Promise<number> {
  const { rows } = await sql<{
    n: string;
  }>`SELECT count(*) AS n FROM ${sql.table(`${ex.schema}.${table}`)}`.execute(ex.db);
  return Number(rows[0]!.n);
}
