/** Leader lease, fencing, failure detection and recovery, with in-process replicas on real PostgreSQL. */
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { useTestSchema } from '../support/schema.js';
import { testScheduler, waitForEvents } from '../support/scheduler.js';
import { defineJob } from '../support/fixtures.js';
import type { Scheduler } from '../../src/scheduler.js';
import { holdsLease } from '../../src/store/leader-store.js';
import { completeExecutions } from '../../src/store/execution-store.js';
import type { JobContext } from '../../src/jobs/job.js';

const database = useTestSchema();
let schedulers: Scheduler[] = [];
const ex = () => ({ db: database.db, schema: database.schema });
const t = (name: string) => sql.table(`${database.schema}.${name}`);

afterEach(async () => {
  await Promise.all(schedulers.map((s) => s.stop({ timeoutMs: 500 })));
  schedulers = [];
});

class Noop {
  execute() {}
}

function replica(name: string) {
  const scheduler = testScheduler(database, { instanceName: name }).registerJob('noop', Noop);
  schedulers.push(scheduler);
  return scheduler;
}

/** A replica that "crashed": an active instance row whose session lock nobody holds, with a running execution. */
async function crashedInstanceWithExecution(
  job: string,
): Promise<{ instanceId: string; executionId: string; scheduledAt: Date }> {
  const instanceId = randomUUID();
  await sql`INSERT INTO ${t('instances')} (id, name, host, pid, version, lock_key, last_checkin_at)
            VALUES (${instanceId}, 'ghost', 'h', 1, 'x', nextval(${`${database.schema}.instance_lock_key`}::regclass), now() - interval '1 second')`.execute(
    database.db,
  );
  const { rows } = await sql<{ id: string; scheduled_at: Date }>`
    WITH f AS (INSERT INTO ${t('fires')} (trigger_name, trigger_group, job_name, scheduled_at, instance_id)
               VALUES (${`t-${instanceId}`}, 'g', ${job}, now(), ${instanceId}) RETURNING id, scheduled_at)
    INSERT INTO ${t('executions')} (fire_id, scheduled_at, attempt, job_name, status, instance_id, started_at)
    SELECT id, scheduled_at, 1, ${job}, 'running', ${instanceId}, now() FROM f RETURNING id, scheduled_at`.execute(
    database.db,
  );
  return { instanceId, executionId: rows[0]!.id, scheduledAt: rows[0]!.scheduled_at };
}

describe('leader lease', () => {
  it('elects exactly one leader, and hands over at once on a graceful stop', async () => {
    const a = replica('a');
    const b = replica('b');
    const elected = waitForEvents([a, b], 'leader:elected', 1);
    await Promise.all([a.start(), b.start()]);
    const [first] = await elected;
    const leader = first!.instanceId === a.instanceId ? a : b;
    const follower = leader === a ? b : a;
    expect(follower.isLeader).toBe(false);

    const handover = waitForEvents(follower, 'leader:elected', 1, () => true, 5_000);
    const started = performance.now();
    await leader.stop();
    const [next] = await handover;
    const tookMs = performance.now() - started;
    expect(next!.epoch).toBe(first!.epoch + 1);
    expect(tookMs).toBeLessThan(2_000); // the NOTIFY wakes the follower; it does not wait out the lease
    const { rows } = await sql<{
      epoch: string;
      end_reason: string | null;
    }>`SELECT epoch, end_reason FROM ${t('leader_terms')} ORDER BY epoch`.execute(database.db);
    expect(rows.at(-2)!.end_reason).toBe('resigned');
  });

  it('fences a leader whose lease was taken: its leader-only writes stop and it steps down', async () => {
    const a = replica('a');
    await a.start();
    await waitForEvents(a, 'leader:elected', 1);
    const epoch = a.leaderEpoch!;
    const lost = waitForEvents(a, 'leader:lost', 1);
    // Another holder takes the lease, as a peer would after this leader stalled past its lease.
    await sql`UPDATE ${t('leader')} SET holder = ${randomUUID()}, epoch = epoch + 1, expires_at = now() + interval '1 hour'`.execute(
      database.db,
    );
    expect(await holdsLease(ex(), { instanceId: a.instanceId, epoch })).toBe(false);
    const [event] = await lost;
    expect(event!.epoch).toBe(epoch);
    expect(a.isLeader).toBe(false);
    await sql`UPDATE ${t('leader')} SET holder = NULL, expires_at = now()`.execute(database.db);
  });
});

describe('failure detection and recovery', () => {
  it("re-dispatches a dead replica's execution of a recover: true job (attempt 2, same fire)", async () => {
    let ran: JobContext | undefined;
    class Recoverable {
      execute(ctx: JobContext) {
        ran = ctx;
      }
    }
    await defineJob(ex(), 'recoverable', { recover: true });
    const a = testScheduler(database, { instanceName: 'a' }).registerJob('recoverable', Recoverable, {
      recover: true,
    });
    schedulers.push(a);
    const { instanceId, executionId, scheduledAt } = await crashedInstanceWithExecution('recoverable');
    const dead = waitForEvents(a, 'instance:dead', 1, (e) => e.instanceId === instanceId);
    const recovered = waitForEvents(a, 'execution:recovered', 1);
    const finished = waitForEvents(a, 'execution:finished', 1);
    await a.start();
    expect((await dead)[0]!.reason).toBe('database session ended');
    expect((await recovered)[0]!.executionId).toBe(executionId);
    const [done] = await finished;
    expect(done).toMatchObject({ status: 'succeeded', attempt: 2 });
    expect(ran!.fire.attempt).toBe(2);
    const { rows } = await sql<{
      attempt: number;
      status: string;
      error: string;
      leader_epoch: string | null;
    }>`
      SELECT attempt, status, error, leader_epoch FROM ${t('executions')} WHERE fire_id = (SELECT fire_id FROM ${t('executions')} WHERE id = ${executionId}) ORDER BY attempt`.execute(
      database.db,
    );
    expect(rows.map((r) => [r.attempt, r.status])).toEqual([
      [1, 'recovered'],
      [2, 'succeeded'],
    ]);
    expect(rows[0]!.error).toMatch(/re-dispatched: instance ghost .* is dead: database session ended/);
    expect(Number(rows[0]!.leader_epoch)).toBe(a.leaderEpoch);

    // A late completion from the dead replica must not overwrite the newer attempt: its identity is fenced.
    const late = completeExecutions(ex(), {
      instanceId,
      outcomes: [
        {
          executionId,
          scheduledAt,
          status: 'succeeded',
          error: null,
          result: null,
          traceId: null,
          retryAfterMs: null,
        },
      ],
    });
    await expect(late).rejects.toMatchObject({ code: 'BELFRY_ERR_INSTANCE_FENCED' });
  });

  it("abandons a dead replica's execution of an at-most-once job, with the reason in the history", async () => {
    await defineJob(ex(), 'noop');
    const a = replica('a');
    const { executionId } = await crashedInstanceWithExecution('noop');
    const abandoned = waitForEvents(a, 'execution:abandoned', 1, (e) => e.executionId === executionId);
    await a.start();
    await abandoned;
    const { rows } = await sql<{
      status: string;
      error: string;
    }>`SELECT status, error FROM ${t('job_history')} WHERE execution_id = ${executionId}`.execute(
      database.db,
    );
    expect(rows[0]!.status).toBe('abandoned');
    expect(rows[0]!.error).toMatch(/^abandoned: instance ghost/);
  });

  it('declares a replica that stopped checking in dead even while its session lives (a stall)', async () => {
    const a = replica('a');
    await a.start();
    await waitForEvents(a, 'leader:elected', 1);
    const stalled = randomUUID();
    // Holds its session lock (this connection), but its last check-in is old: alive but stalled.
    const client = await database.pool.connect();
    try {
      const { rows } = await client.query<{ key: number }>(
        `SELECT nextval('${database.schema}.instance_lock_key')::int AS key`,
      );
      const { lockNamespace } = await import('../../src/store/lock-keys.js');
      await client.query('SELECT pg_advisory_lock($1, $2)', [lockNamespace(database.schema), rows[0]!.key]);
      await client.query(
        `INSERT INTO "${database.schema}".instances (id, name, host, pid, version, lock_key, last_checkin_at) VALUES ($1, 'stalled', 'h', 1, 'x', $2, now())`,
        [stalled, rows[0]!.key],
      );
      const dead = waitForEvents(a, 'instance:dead', 1, (e) => e.instanceId === stalled, 10_000);
      const [event] = await dead;
      expect(event!.reason).toMatch(/^no check-in for/);
      await client.query('SELECT pg_advisory_unlock_all()');
    } finally {
      client.release();
    }
  });
});
