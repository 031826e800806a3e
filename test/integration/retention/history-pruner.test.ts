/** History retention on real PostgreSQL: what goes, what stays, batches, and the epoch fence. */
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { HistoryPruner } from '../../../src/cluster/history-pruner.js';
import type { Executor } from '../../../src/store/executor.js';
import { insertAdminAudit } from '../../../src/store/admin-audit-store.js';
import { registerInstance } from '../../../src/store/instance-store.js';
import { acquireOrRenewLease } from '../../../src/store/leader-store.js';
import { lockNamespace } from '../../../src/store/lock-keys.js';
import { defineJob, defineTrigger } from '../../support/fixtures.js';
import { useTestSchema } from '../../support/schema.js';

const DAY = 86_400_000;
const database = useTestSchema();
let ex: Executor;
let leaderId: string;
let epoch: number;
const t = (name: 'fires' | 'executions' | 'triggers' | 'instances' | 'leader' | 'jobs' | 'leader_terms') =>
  sql.table(`${ex.schema}.${name}`);

async function addInstance(
  name: string,
  state: 'active' | 'stopped' | 'dead',
  stoppedDaysAgo: number | null,
): Promise<string> {
  const id = randomUUID();
  const lockKey = Math.floor(Math.random() * 1_000_000) + 10;
  await registerInstance(ex, { id, name, host: 'h', pid: 1, version: '0.1.0', lockKey });
  if (state !== 'active') {
    await sql`UPDATE ${t('instances')} SET state = ${state}, stopped_at = now() - ${stoppedDaysAgo} * interval '1 day',
                     last_checkin_at = now() - ${stoppedDaysAgo} * interval '1 day' WHERE id = ${id}::uuid`.execute(
      ex.db,
    );
  }
  return id;
}

/** A fire `daysAgo` days ago with attempts in these statuses, run on `instance`; returns the fire id. */
async function addFire(
  daysAgo: number,
  statuses: string[],
  instance: string | null = null,
  trigger = 'every-hour',
): Promise<string> {
  const { rows } = await sql<{ id: string }>`
    INSERT INTO ${t('fires')} (trigger_id, trigger_name, trigger_group, job_name, scheduled_at, fired_at)
    SELECT id, name, group_name, job_name, now() - ${daysAgo} * interval '1 day' - random() * interval '1 hour', now() - ${daysAgo} * interval '1 day'
      FROM ${t('triggers')} WHERE name = ${trigger}
    RETURNING id`.execute(ex.db);
  const fireId = rows[0]!.id;
  const at = sql`(SELECT scheduled_at FROM ${t('fires')} WHERE id = ${fireId})`;
  for (const [index, status] of statuses.entries()) {
    const terminal = status !== 'running' && status !== 'pending';
    await sql`INSERT INTO ${t('executions')} (fire_id, scheduled_at, attempt, job_name, status, instance_id, started_at, finished_at)
              VALUES (${fireId}, ${at}, ${index + 1}, 'work', ${status}, ${instance}::uuid, now() - ${daysAgo} * interval '1 day',
                      ${terminal ? sql`now() - ${daysAgo} * interval '1 day'` : null})`.execute(ex.db);
  }
  return fireId;
}

async function addOneOff(
  name: string,
  source: string,
  state: 'complete' | 'waiting',
  daysAgo: number,
): Promise<void> {
  await sql`INSERT INTO ${t('triggers')} (name, group_name, job_name, kind, spec, state, next_fire_at, previous_fire_at, max_fires, times_fired, source, updated_at)
            VALUES (${name}, 'one-off', 'work', 'once', '{"kind":"once"}'::jsonb, ${state},
                    ${state === 'waiting' ? sql`now() - ${daysAgo} * interval '1 day'` : null},
                    ${state === 'complete' ? sql`now() - ${daysAgo} * interval '1 day'` : null}, 1, ${state === 'complete' ? 1 : 0},
                    ${source}, now() - ${daysAgo} * interval '1 day')`.execute(ex.db);
}

async function ids(table: 'fires' | 'instances'): Promise<string[]> {
  const { rows } = await sql<{ id: string }>`SELECT id::text FROM ${t(table)} ORDER BY id`.execute(ex.db);
  return rows.map((row) => row.id);
}

async function names(): Promise<string[]> {
  const { rows } = await sql<{ name: string }>`SELECT name FROM ${t('triggers')} ORDER BY name`.execute(
    ex.db,
  );
  return rows.map((row) => row.name);
}

async function count(table: 'executions'): Promise<number> {
  const { rows } = await sql<{ n: string }>`SELECT count(*) AS n FROM ${t(table)}`.execute(ex.db);
  return Number(rows[0]!.n);
}

const pruner = (batchSize?: number) =>
  new HistoryPruner({ executor: ex, instanceId: () => leaderId, retentionMs: 90 * DAY, batchSize });

beforeAll(async () => {
  ex = { db: database.db, schema: database.schema };
});
beforeEach(async () => {
  await sql`TRUNCATE ${t('fires')}, ${t('executions')}, ${t('triggers')}, ${t('jobs')}, ${t('instances')}, ${t('leader_terms')} CASCADE`.execute(
    ex.db,
  );
  await sql`UPDATE ${t('leader')} SET holder = NULL, epoch = 0, expires_at = NULL`.execute(ex.db);
  await defineJob(ex, 'work');
  await defineTrigger(
    ex,
    { name: 'every-hour', job: 'work', spec: { kind: 'interval', everyMs: 3_600_000 } },
    new Date('2099-01-01T00:00:00Z'),
  );
  leaderId = await addInstance('leader', 'active', null);
  const lease = await acquireOrRenewLease(ex, {
    instanceId: leaderId,
    ttlMs: 60_000,
    lockNamespace: lockNamespace(ex.schema),
    holderGraceMs: 60_000,
  });
  epoch = lease!.epoch;
});

describe('HistoryPruner', () => {
  it('deletes expired terminal fires with their attempts and keeps recent and unfinished ones', async () => {
    const old = await addFire(100, ['failed', 'succeeded']);
    const oldSkipped = await addFire(91, ['skipped']);
    const oldRunning = await addFire(100, ['running']);
    const oldRetrying = await addFire(120, ['failed', 'pending']);
    const recent = await addFire(10, ['succeeded']);
    const edge = await addFire(89, ['succeeded']);
    const pass = await pruner().pass(epoch);
    expect(pass).toMatchObject({ leaseHeld: true, fires: 2, executions: 3, more: false });
    expect(await ids('fires')).toEqual(
      [oldRunning, oldRetrying, recent, edge].sort((a, b) => Number(a) - Number(b)),
    );
    expect(await ids('fires')).not.toContain(old);
    expect(await ids('fires')).not.toContain(oldSkipped);
    expect(await count('executions')).toBe(5);
    expect(await pruner().pass(epoch)).toMatchObject({ leaseHeld: true, deleted: 0, more: false });
  });

  it('works through a backlog in bounded batches, oldest first', async () => {
    for (let i = 0; i < 7; i += 1) await addFire(95 + i, ['succeeded']);
    const keep = await addFire(1, ['succeeded']);
    const passes = [];
    for (let more = true; more;) {
      const pass = await pruner(3).pass(epoch);
      passes.push(pass.fires);
      more = pass.more;
    }
    expect(passes).toEqual([3, 3, 1]);
    expect(await ids('fires')).toEqual([keep]);
  });

  it('deletes completed API one-offs past the cutoff, and nothing a YAML file or a live trigger still needs', async () => {
    await addOneOff('work.once.old', 'api', 'complete', 100);
    await addOneOff('work.once.recent', 'api', 'complete', 5);
    await addOneOff('work.once.waiting', 'api', 'waiting', 100);
    await addOneOff('yaml-once', 'yaml', 'complete', 100);
    const fire = await addFire(30, ['succeeded'], null, 'work.once.old');
    const pass = await pruner().pass(epoch);
    expect(pass).toMatchObject({ triggers: 1 });
    expect(await names()).toEqual(['every-hour', 'work.once.recent', 'work.once.waiting', 'yaml-once']);
    // The history of the deleted one-off is kept (its trigger reference is cleared).
    const { rows } = await sql<{
      trigger_id: string | null;
      trigger_name: string;
    }>`SELECT trigger_id, trigger_name FROM ${t('fires')} WHERE id = ${fire}`.execute(ex.db);
    expect(rows).toEqual([{ trigger_id: null, trigger_name: 'work.once.old' }]);
  });

  it('deletes old stopped and dead instances once no history of their time is left', async () => {
    const goneStopped = await addInstance('gone-stopped', 'stopped', 120);
    const goneDead = await addInstance('gone-dead', 'dead', 110);
    const referenced = await addInstance('still-referenced', 'stopped', 100);
    const recent = await addInstance('recently-stopped', 'stopped', 3);
    // An unfinished attempt 100 days old keeps its fire, and so the instances that stopped after it.
    await addFire(100, ['running'], referenced);
    const pass = await pruner().pass(epoch);
    expect(pass).toMatchObject({ instances: 2 });
    const left = await ids('instances');
    expect(left).toEqual(expect.arrayContaining([leaderId, referenced, recent]));
    expect(left).not.toContain(goneStopped);
    expect(left).not.toContain(goneDead);
  });

  it('deletes nothing under a stale epoch or when another instance holds the lease', async () => {
    await addFire(100, ['succeeded']);
    await addInstance('gone', 'stopped', 100);
    await addOneOff('work.once.old', 'api', 'complete', 100);
    const before = { fires: await ids('fires'), instances: await ids('instances'), triggers: await names() };
    expect(await pruner().pass(epoch + 1)).toEqual({
      leaseHeld: false,
      deleted: 0,
      more: false,
      fires: 0,
      executions: 0,
      triggers: 0,
      instances: 0,
      adminAudit: 0,
      serviceRuns: 0,
      partitionsDropped: [],
      partitionsCreated: [],
    });
    expect(await pruner().pass(epoch - 1)).toMatchObject({ leaseHeld: false, deleted: 0 });
    const impostor = new HistoryPruner({
      executor: ex,
      instanceId: () => randomUUID(),
      retentionMs: 90 * DAY,
    });
    expect(await impostor.pass(epoch)).toMatchObject({ leaseHeld: false, deleted: 0 });
    expect({ fires: await ids('fires'), instances: await ids('instances'), triggers: await names() }).toEqual(
      before,
    );
    expect(await pruner().pass(epoch)).toMatchObject({
      leaseHeld: true,
      fires: 1,
      triggers: 1,
      instances: 1,
    });
  });

  it('deletes admin audit entries past the same retention, oldest first in bounded batches, and only as leader', async () => {
    const at = (daysAgo: number) => new Date(Date.parse('2030-06-01T00:00:00Z') - daysAgo * DAY);
    const now = at(0);
    for (const daysAgo of [200, 150, 120, 91, 89, 1]) {
      await insertAdminAudit(ex, {
        now: at(daysAgo),
        actor: `token-${daysAgo}`,
        scope: 'admin',
        method: 'POST',
        operation: 'pause',
        path: '/triggers/x/pause',
        target: { trigger: 'x' },
        status: 200,
        remoteAddress: '127.0.0.1',
        userAgent: null,
        instanceId: leaderId,
      });
    }
    const actors = async () => {
      const { rows } = await sql<{
        actor: string;
      }>`SELECT actor FROM ${sql.table(`${ex.schema}.admin_audit`)} ORDER BY at`.execute(ex.db);
      return rows.map((row) => row.actor);
    };
    const stubbed = (batchSize: number, instanceId = leaderId) =>
      new HistoryPruner({
        executor: ex,
        instanceId: () => instanceId,
        retentionMs: 90 * DAY,
        batchSize,
        now: () => now,
      });
    expect(await stubbed(3, randomUUID()).pass(epoch)).toMatchObject({ leaseHeld: false, adminAudit: 0 });
    expect(await stubbed(3).pass(epoch)).toMatchObject({ adminAudit: 3, more: true });
    expect(await actors()).toEqual(['token-91', 'token-89', 'token-1']);
    expect(await stubbed(3).pass(epoch)).toMatchObject({ adminAudit: 1, deleted: 1, more: false });
    expect(await actors()).toEqual(['token-89', 'token-1']);
  });

  it('deletes service runs (service_history) that ended past the cutoff, in batches, and keeps open ones', async () => {
    const runs = sql.table(`${ex.schema}.service_runs`);
    await sql`TRUNCATE ${runs}`.execute(ex.db);
    /** A run of `feed` shard 0 that started `startedDaysAgo` and ended `endedDaysAgo` (null: still open). */
    const addRun = async (reason: string | null, startedDaysAgo: number, endedDaysAgo: number | null) => {
      await sql`INSERT INTO ${runs} (service, shard, instance_id, epoch, started_at, ended_at, reason)
                VALUES ('feed', 0, ${leaderId}::uuid, 1, now() - ${startedDaysAgo} * interval '1 day',
                        ${endedDaysAgo === null ? null : sql`now() - ${endedDaysAgo} * interval '1 day'`}, ${reason})`.execute(
        ex.db,
      );
    };
    for (let i = 0; i < 3; i += 1) await addRun('crashed', 120 - i, 120 - i);
    await addRun('checkpoint refused', 95, 95);
    await addRun(null, 200, null); // the shard's current run, open for 200 days
    await addRun('rebalanced', 100, 30); // started long ago, ended inside the retention
    await addRun('stopped', 10, 9);
    const left = async () =>
      (
        await sql<{
          reason: string;
        }>`SELECT reason FROM ${sql.table(`${ex.schema}.service_history`)} ORDER BY id`.execute(ex.db)
      ).rows.map((r) => r.reason);
    expect(await pruner(3).pass(epoch)).toMatchObject({ serviceRuns: 3, deleted: 3, more: true });
    expect(await left()).toEqual(['checkpoint refused', 'running', 'rebalanced', 'stopped']);
    expect(await pruner(3).pass(epoch)).toMatchObject({ serviceRuns: 1, deleted: 1, more: false });
    expect(await left()).toEqual(['running', 'rebalanced', 'stopped']);
    expect(await pruner(3).pass(epoch + 1)).toMatchObject({ leaseHeld: false, serviceRuns: 0 });
  });

  it('honours a shorter retention and refuses a non-positive one', async () => {
    await addFire(10, ['succeeded']);
    const week = new HistoryPruner({ executor: ex, instanceId: () => leaderId, retentionMs: 7 * DAY });
    expect(await week.pass(epoch)).toMatchObject({ fires: 1 });
    expect(() => new HistoryPruner({ executor: ex, instanceId: () => leaderId, retentionMs: 0 })).toThrow(
      /positive/,
    );
  });
});
