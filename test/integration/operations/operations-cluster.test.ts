/**
 * Continuations and cancel across real replica processes (operations-replica.ts):
 * - a continuation survives a SIGKILL of the replica that ran its upstream: every upstream fire ends
 *   with exactly one continuation fire (never two, never none), whether the kill came mid-upstream (the
 *   leader's recovery re-runs it) or between the upstream's outcome and the continuation's run;
 * - cancel of an execution running on another replica aborts its ctx.signal there (NOTIFY) and records
 *   `cancelled` with who asked; the late outcome of the aborted job does not overwrite it;
 * - cancel of an execution whose replica is dead simply marks it, and the leader's recovery leaves it be.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scheduleOneOff } from '../../../src/operations/fire-operations.js';
import { cancelExecution, WrongStateError } from '../../../src/operations/execution-operations.js';
import type { Executor } from '../../../src/store/executor.js';
import { spawnReplica, stopReplicas, type ReplicaHandle } from '../../support/cluster.js';
import { defineJob } from '../../support/fixtures.js';
import { testDatabaseUrl, useTestSchema } from '../../support/schema.js';
import { defineAfterTrigger } from './after-trigger.js';

const REPLICA = fileURLToPath(new URL('./operations-replica.ts', import.meta.url));
const TIMINGS = {
  heartbeatIntervalMs: 300,
  leaseTtlMs: 1_500,
  sessionGraceMs: 300,
  deadAfterMs: 2_000,
  recoveryIntervalMs: 300,
};
const database = useTestSchema();
const ex = (): Executor => ({ db: database.db, schema: database.schema });
const t = (name: string) => sql.table(`${database.schema}.${name}`);
const dir = mkdtempSync(join(tmpdir(), 'belfry-ops-'));
const runLog = join(dir, 'runs.jsonl');
const replicas: ReplicaHandle[] = [];

function spawn(name: string): ReplicaHandle {
  const replica = spawnReplica({
    name,
    databaseUrl: testDatabaseUrl(),
    schema: database.schema,
    timings: TIMINGS,
    command: [process.execPath, '--import', 'tsx', REPLICA],
    env: { RUN_LOG: runLog },
  });
  replicas.push(replica);
  return replica;
}

async function until<T>(probe: () => Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

beforeAll(async () => {
  await defineJob(ex(), 'up', { recover: true });
  await defineJob(ex(), 'down', { recover: true });
  await defineJob(ex(), 'long');
  await defineAfterTrigger(ex(), 'down-after-up', 'down', { job: 'up', on: ['succeeded'] });
});

afterAll(async () => {
  await stopReplicas(replicas, 'SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

describe('operations across replica processes', () => {
  it('fires a continuation exactly once per upstream fire across a SIGKILL of the upstream replica', async () => {
    const [a, b] = [spawn('ops-a'), spawn('ops-b')];
    await Promise.all([a.waitFor('started'), b.waitFor('started')]);
    const N = 12;
    for (let i = 0; i < N; i += 1) await scheduleOneOff(ex(), { job: 'up', at: null, data: { ms: 1_200 } });
    // Kill A while it runs an upstream: its outcome (and continuation) must come from the recovery.
    await a.waitFor('execution:started', (e) => e.job === 'up');
    a.child.kill('SIGKILL');
    await a.exited;

    await until(
      async () => {
        const { rows } = await sql<{ done: boolean }>`
          SELECT count(*) FILTER (WHERE e.status = 'succeeded') = ${N} AS done
            FROM ${t('fires')} f
            JOIN LATERAL (SELECT status FROM ${t('executions')} WHERE fire_id = f.id ORDER BY attempt DESC LIMIT 1) e ON true
           WHERE f.trigger_name = 'down-after-up'`.execute(database.db);
        return rows[0]!.done ? true : undefined;
      },
      40_000,
      `${N} continuations to succeed`,
    );
    const { rows: upstreams } = await sql<{ fire_id: string; continuations: number; recovered: boolean }>`
      SELECT u.id AS fire_id,
             (SELECT count(*)::int FROM ${t('fires')} c WHERE c.upstream_fire_id = u.id) AS continuations,
             EXISTS (SELECT 1 FROM ${t('executions')} e WHERE e.fire_id = u.id AND e.status = 'recovered') AS recovered
        FROM ${t('fires')} u WHERE u.job_name = 'up'`.execute(database.db);
    expect(upstreams).toHaveLength(N);
    expect(upstreams.every((row) => row.continuations === 1)).toBe(true);
    // The kill hit at least one running upstream, which the leader re-dispatched.
    expect(upstreams.some((row) => row.recovered)).toBe(true);
    const { rows: down } = await sql<{ execution_id: string }>`
      SELECT e.id AS execution_id FROM ${t('executions')} e JOIN ${t('fires')} f ON f.id = e.fire_id
       WHERE f.trigger_name = 'down-after-up' AND e.status = 'succeeded'`.execute(database.db);
    // The independent record: every successful continuation attempt ran its handler.
    const ran = new Set(
      readFileSync(runLog, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as { trigger: string; executionId: string })
        .filter((run) => run.trigger === 'down-after-up')
        .map((run) => run.executionId),
    );
    expect(down).toHaveLength(N);
    for (const row of down) expect(ran.has(row.execution_id), row.execution_id).toBe(true);
  }, 60_000);

  it('cancels an execution running on another replica: its signal aborts there, the row says cancelled', async () => {
    const b = replicas.find((replica) => replica.name === 'ops-b')!;
    await scheduleOneOff(ex(), { job: 'long', at: null, data: null });
    const started = await b.waitFor('execution:started', (e) => e.job === 'long');
    const executionId = String(started.executionId);
    const result = await cancelExecution(ex(), { executionId, requestedBy: 'test-operator' });
    expect(result).toMatchObject({ executionId, previous: 'running' });
    const aborted = await b.waitFor('aborted', (e) => e.executionId === executionId, 10_000);
    expect(aborted.code).toBe('BELFRY_ERR_CANCELLED');
    // The job returned after its abort; give its (refused) outcome time to arrive, then read the row.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const { rows } = await sql<{ status: string; requested: string; requested_by: string; error: string }>`
      SELECT status, requested, requested_by, error FROM ${t('executions')} WHERE id = ${executionId}`.execute(
      database.db,
    );
    expect(rows[0]).toEqual({
      status: 'cancelled',
      requested: 'cancel',
      requested_by: 'test-operator',
      error: 'cancelled by test-operator',
    });
    await expect(cancelExecution(ex(), { executionId, requestedBy: 'x' })).rejects.toBeInstanceOf(
      WrongStateError,
    );
  });

  it('marks a running execution of a dead replica cancelled, and the recovery leaves it so', async () => {
    const b = replicas.find((replica) => replica.name === 'ops-b')!;
    const c = spawn('ops-c');
    await c.waitFor('started');
    // Stop B so that C runs the next fire; then kill C while it runs it.
    await stopReplicas([b]);
    await scheduleOneOff(ex(), { job: 'long', at: null, data: null });
    const started = await c.waitFor('execution:started', (e) => e.job === 'long');
    c.child.kill('SIGKILL');
    await c.exited;
    const executionId = String(started.executionId);
    const result = await cancelExecution(ex(), { executionId, requestedBy: 'test-operator' });
    expect(result.previous).toBe('running');
    const d = spawn('ops-d');
    await d.waitFor('leader:elected', undefined, 15_000);
    // The new leader's recovery runs at once and every 300 ms: past a few rounds, the row is unchanged.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const { rows } = await sql<{ status: string; attempts: number }>`
      SELECT (SELECT status FROM ${t('executions')} WHERE id = ${executionId}) AS status,
             (SELECT count(*)::int FROM ${t('executions')} e2
               WHERE e2.fire_id = (SELECT fire_id FROM ${t('executions')} WHERE id = ${executionId})) AS attempts`.execute(
      database.db,
    );
    expect(rows[0]).toEqual({ status: 'cancelled', attempts: 1 });
  }, 40_000);
});
