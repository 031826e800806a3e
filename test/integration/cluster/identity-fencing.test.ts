/**
 * Issue 10, items 3 and 4: an instance id is a fencing token. Under an id the leader declared dead no
 * claim and no completion is written, the declaration serializes with guarded writes in flight, and a
 * replica that learns of its death aborts its work and registers again under a new id. A fire acquired
 * ahead of its time and not yet started when the replica stops is handed back, not run.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { useTestSchema } from '../../support/schema.js';
import { testScheduler, waitForEvents } from '../../support/scheduler.js';
import { defineJob } from '../../support/fixtures.js';
import type { Scheduler } from '../../../src/scheduler.js';
import type { JobContext } from '../../../src/jobs/job.js';
import { inTransaction, notifyChange } from '../../../src/store/executor.js';
import { checkInInstance, nextInstanceLockKey, registerInstance } from '../../../src/store/instance-store.js';
import { claimPendingExecutions, completeExecutions } from '../../../src/store/execution-store.js';
import { markDeadInstances, recoverOrphanedExecutions } from '../../../src/store/recovery-store.js';

const database = useTestSchema();
let schedulers: Scheduler[] = [];
const ex = () => ({ db: database.db, schema: database.schema });
const t = (name: string) => sql.table(`${database.schema}.${name}`);
const FENCED = { code: 'BELFRY_ERR_INSTANCE_FENCED' };

beforeAll(async () => {
  await defineJob(ex(), 'work');
});
afterEach(async () => {
  await Promise.all(schedulers.map((s) => s.stop({ timeoutMs: 500 })));
  schedulers = [];
});

async function register(): Promise<string> {
  const id = randomUUID();
  const lockKey = await nextInstanceLockKey(ex());
  await registerInstance(ex(), { id, name: `i-${id.slice(0, 8)}`, host: 'h', pid: 1, version: 'x', lockKey });
  return id;
}

/** A fire of `job` with one execution in `status` (running ones belong to `instanceId`). */
async function execution(
  status: 'pending' | 'running',
  instanceId: string | null = null,
  job = 'work',
): Promise<string> {
  const { rows } = await sql<{ id: string; scheduled_at: Date }>`
    WITH f AS (INSERT INTO ${t('fires')} (trigger_name, trigger_group, job_name, scheduled_at, instance_id)
               VALUES (${`t-${randomUUID()}`}, 'g', ${job}, now(), ${instanceId}) RETURNING id, scheduled_at)
    INSERT INTO ${t('executions')} (fire_id, scheduled_at, attempt, job_name, status, instance_id, run_at, started_at)
    SELECT id, scheduled_at, 1, ${job}, ${status}, ${instanceId}, now(), ${status === 'running' ? sql`now()` : null} FROM f
    RETURNING id, scheduled_at`.execute(database.db);
  scheduledAtOf.set(rows[0]!.id, rows[0]!.scheduled_at);
  return rows[0]!.id;
}

async function statusOf(executionId: string) {
  const { rows } = await sql<{ status: string; instance_id: string | null; error: string | null }>`
    SELECT status, instance_id, error FROM ${t('executions')} WHERE id = ${executionId}`.execute(database.db);
  return rows[0]!;
}

/** Declares `id` dead as the leader would after its session was gone (the leader's own statement). */
function declareDead(id: string, executor = ex()) {
  return markDeadInstances(executor, {
    selfId: randomUUID(),
    sessionLost: [{ id, since: new Date('2100-01-01T00:00:00Z') }],
    deadAfterMs: 3_600_000,
  });
}

/** As the leader's passes do: a replica with a guarded write in flight is skipped, and judged next pass. */
async function declareDeadSoon(id: string): Promise<void> {
  for (let pass = 0; pass < 100; pass += 1) {
    if ((await declareDead(id)).length > 0) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`instance ${id} was never free to declare dead`);
}

/** The scheduled time of each execution the fixture made (an outcome names it: the partition key). */
const scheduledAtOf = new Map<string, Date>();

const succeeded = (executionId: string) => ({
  executionId,
  scheduledAt: scheduledAtOf.get(executionId)!,
  status: 'succeeded' as const,
  error: null,
  result: null,
  traceId: null,
  retryAfterMs: null,
});

describe('claiming pending executions', () => {
  it('claims only attempts whose job still exists, and finishes those of a deleted job as abandoned', async () => {
    const id = await register();
    await defineJob(ex(), 'kept');
    await defineJob(ex(), 'deleted');
    const kept = await execution('pending', null, 'kept');
    const orphan = await execution('pending', null, 'deleted');
    // `belfry delete` or an apply with --prune, while a replica still has the job registered in code.
    await sql`DELETE FROM ${t('jobs')} WHERE name = 'deleted'`.execute(database.db);

    const claimed = await claimPendingExecutions(ex(), {
      instanceId: id,
      jobs: ['kept', 'deleted'],
      limit: 10,
    });
    expect(claimed.map((row) => row.executionId)).toEqual([kept]);
    expect(await statusOf(kept)).toMatchObject({ status: 'running', instance_id: id });
    // Not left `running` (never run, never recovered): finished, with the reason in the history.
    expect(await statusOf(orphan)).toEqual({
      status: 'abandoned',
      instance_id: id,
      error: "abandoned: job 'deleted' no longer exists (deleted before this attempt ran)",
    });
    expect(await claimPendingExecutions(ex(), { instanceId: id, jobs: ['deleted'], limit: 10 })).toEqual([]);
  });
});

describe('the identity guard in the store', () => {
  it('claims nothing and records nothing under an instance declared dead', async () => {
    const id = await register();
    const pending = await execution('pending');
    const running = await execution('running', id);
    expect((await declareDead(id)).map((dead) => dead.id)).toEqual([id]);

    await expect(
      claimPendingExecutions(ex(), { instanceId: id, jobs: ['work'], limit: 10 }),
    ).rejects.toMatchObject(FENCED);
    expect((await statusOf(pending)).status).toBe('pending');

    await expect(
      completeExecutions(ex(), { instanceId: id, outcomes: [succeeded(running)] }),
    ).rejects.toMatchObject(FENCED);
    expect(await statusOf(running)).toMatchObject({ status: 'running', instance_id: id });
  });

  it("keeps the leader's declaration off an instance with a claim in flight; the next pass declares it and recovers the claim", async () => {
    const id = await register();
    const pending = await execution('pending');
    let claimed!: () => void;
    const hasClaimed = new Promise<void>((resolve) => (claimed = resolve));
    let commit!: () => void;
    const committing = new Promise<void>((resolve) => (commit = resolve));
    const claim = database.db.transaction().execute(async (trx) => {
      const rows = await claimPendingExecutions(
        { db: trx, schema: database.schema },
        { instanceId: id, jobs: ['work'], limit: 10 },
      );
      claimed();
      await committing;
      return rows;
    });
    await hasClaimed;
    const leaderPass = () =>
      inTransaction(ex(), async (tx) => {
        const dead = await declareDead(id, tx);
        const recovered = await recoverOrphanedExecutions(tx, { epoch: 1, limit: 100 });
        return { dead, recovered };
      });

    // The claim holds the instance row FOR SHARE: the declaration skips it (and does not wait for it).
    expect((await leaderPass()).dead).toEqual([]);
    commit();
    expect((await claim).map((row) => row.executionId)).toContain(pending);
    const { dead, recovered } = await leaderPass();
    expect(dead.map((instance) => instance.id)).toEqual([id]);
    expect(recovered.map((row) => row.executionId)).toContain(pending);
    expect((await statusOf(pending)).status).toBe('abandoned');
  });

  it('does not declare dead a replica whose check-in is in flight, nor after that check-in commits', async () => {
    const id = await register();
    await sql`UPDATE ${t('instances')} SET last_checkin_at = now() - interval '1 hour' WHERE id = ${id}`.execute(
      database.db,
    );
    let checkedIn!: () => void;
    const hasCheckedIn = new Promise<void>((resolve) => (checkedIn = resolve));
    let commit!: () => void;
    const committing = new Promise<void>((resolve) => (commit = resolve));
    const checkIn = database.db.transaction().execute(async (trx) => {
      const active = await checkInInstance({ db: trx, schema: database.schema }, { id });
      checkedIn();
      await committing;
      return active;
    });
    await hasCheckedIn;
    // Stale by the committed row: one hour without a check-in, ten minutes allowed.
    const judge = () =>
      markDeadInstances(ex(), { selfId: randomUUID(), sessionLost: [], deadAfterMs: 600_000 });
    expect(await judge()).toEqual([]);
    commit();
    expect(await checkIn).toBe(true);
    expect(await judge()).toEqual([]);
    const { rows } = await sql<{
      state: string;
    }>`SELECT state FROM ${t('instances')} WHERE id = ${id}`.execute(database.db);
    expect(rows[0]!.state).toBe('active');
  });
});

/** Runs until its signal aborts; says so. */
class Blocking {
  static aborted: ((instanceId: string) => void) | undefined;
  async execute(ctx: JobContext) {
    await new Promise<void>((resolve) =>
      ctx.signal.addEventListener('abort', () => resolve(), { once: true }),
    );
    Blocking.aborted?.(ctx.fire.executionId);
  }
}

class Work {
  execute() {}
}

describe('a replica declared dead', () => {
  it('learns it from its next check-in, aborts its executions and registers again under a new id', async () => {
    await defineJob(ex(), 'blocking');
    const a = testScheduler(database, { instanceName: 'a' }).registerJob('blocking', Blocking);
    schedulers.push(a);
    await a.start();
    const started = waitForEvents(a, 'execution:started', 1);
    await a.fireNow('blocking');
    const [execution] = await started;
    const deadId = a.instanceId;
    expect(execution!.instanceId).toBe(deadId);

    const aborted = new Promise<string>((resolve) => (Blocking.aborted = resolve));
    const fenced = waitForEvents(a, 'instance:fenced', 1, (e) => e.instanceId === deadId);
    const joined = waitForEvents(a, 'instance:joined', 1);
    const abandoned = waitForEvents(
      a,
      'execution:abandoned',
      1,
      (e) => e.executionId === execution!.executionId,
    );
    await declareDeadSoon(deadId);

    await fenced;
    expect(await aborted).toBe(execution!.executionId);
    const [rejoined] = await joined;
    expect(rejoined!.instanceId).not.toBe(deadId);
    expect(a.instanceId).toBe(rejoined!.instanceId);
    const { rows } = await sql<{ id: string; state: string }>`
      SELECT id, state FROM ${t('instances')} WHERE id IN (${deadId}, ${rejoined!.instanceId})`.execute(
      database.db,
    );
    expect(Object.fromEntries(rows.map((row) => [row.id, row.state]))).toEqual({
      [deadId]: 'dead',
      [rejoined!.instanceId]: 'active',
    });
    // The aborted attempt got no outcome from the dead identity: the leader (this replica, under its new
    // id) abandons it, with the reason.
    await abandoned;
    expect((await statusOf(execution!.executionId)).error).toMatch(
      new RegExp(`^abandoned: .*${deadId}.* is dead`),
    );
  });

  it('learns it from a refused claim, long before its next check-in, and runs the work under its new id', async () => {
    const a = testScheduler(database, {
      instanceName: 'slow-heart',
      timings: {
        heartbeatIntervalMs: 60_000,
        leaseTtlMs: 180_000,
        sessionGraceMs: 300,
        deadAfterMs: 120_000,
        recoveryIntervalMs: 300,
      },
    }).registerJob('late', Work);
    schedulers.push(a);
    // Its first check-in is done once it leads; the next one is a minute away.
    const elected = waitForEvents(a, 'leader:elected', 1);
    await a.start();
    await elected;
    const deadId = a.instanceId;
    const starts: { executionId: string; instanceId: string }[] = [];
    a.on('execution:started', (e) => starts.push({ executionId: e.executionId, instanceId: e.instanceId }));
    await declareDeadSoon(deadId);

    const fenced = waitForEvents(a, 'instance:fenced', 1, (e) => e.instanceId === deadId, 5_000);
    const finished = waitForEvents(a, 'execution:finished', 1, () => true, 10_000);
    const pending = await execution('pending', null, 'late');
    await inTransaction(ex(), (tx) => notifyChange(tx, 'pending'));
    await fenced;
    const [done] = await finished;
    expect(done).toMatchObject({ executionId: pending, status: 'succeeded', recorded: true });
    expect(done!.instanceId).not.toBe(deadId);
    expect(starts).toEqual([{ executionId: pending, instanceId: done!.instanceId }]);
  });
});

describe('a fire acquired ahead of its time', () => {
  it('is handed back as pending, not started, when the replica stops during the wait; a peer runs it', async () => {
    await defineJob(ex(), 'punctual');
    const ran: string[] = [];
    class Punctual {
      execute(ctx: JobContext) {
        ran.push(ctx.fire.executionId);
      }
    }
    // Acquired up to 5 s ahead, so the attempt is sure to be waiting when the stop comes.
    const a = testScheduler(database, { instanceName: 'leaving', fireAheadMs: 5_000 }).registerJob(
      'punctual',
      Punctual,
    );
    schedulers.push(a);
    await a.start();
    const leavingId = a.instanceId;
    const fired = waitForEvents(a, 'trigger:fired', 1);
    const released = waitForEvents(a, 'execution:released', 1);
    const { rows: now } = await sql<{
      at: Date;
    }>`SELECT clock_timestamp() + interval '2 seconds' AS at`.execute(database.db);
    await a.scheduleAt('punctual', now[0]!.at);
    const [fire] = await fired;
    // The shutdown deadline is far shorter than the wait: before the fix, the aborted wait started the job.
    await a.stop({ timeoutMs: 100 });
    const [release] = await released;
    expect(release).toMatchObject({
      executionId: fire!.executionId,
      handedBack: true,
      reason: 'replica stopping',
    });
    expect(ran).toEqual([]);
    const { rows } = await sql<{ status: string; instance_id: string | null; error: string; due: boolean }>`
      SELECT e.status, e.instance_id, e.error, e.run_at = f.scheduled_at AS due
        FROM ${t('executions')} e JOIN ${t('fires')} f ON f.id = e.fire_id WHERE e.id = ${fire!.executionId}`.execute(
      database.db,
    );
    expect(rows[0]).toMatchObject({ status: 'pending', instance_id: null, due: true });
    expect(rows[0]!.error).toBe(`handed back before it started: instance ${leavingId} was stopping`);

    const b = testScheduler(database, { instanceName: 'peer' }).registerJob('punctual', Punctual);
    schedulers.push(b);
    const finished = waitForEvents(b, 'execution:finished', 1, (e) => e.executionId === fire!.executionId);
    await b.start();
    const [done] = await finished;
    expect(done).toMatchObject({ status: 'succeeded', attempt: 1, instanceId: b.instanceId });
    expect(done!.scheduledAt.getTime()).toBe(fire!.scheduledAt.getTime());
    expect(ran).toEqual([fire!.executionId]);
  });
});
