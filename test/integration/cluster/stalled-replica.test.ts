/**
 * Issue 10, item 3, with a real process: a replica stopped (SIGSTOP) past dead-after is declared dead by
 * the leader; when it resumes (SIGCONT) it must start no handler under the dead identity, learn of its
 * death, and go on working under a new one. Its handlers write the run log (one line per start, outside
 * the database), which is held against the death time the leader recorded. It acquires fires a second
 * ahead, so whenever it is stopped it holds fires that are acquired but not yet started: before the fix,
 * those started under the dead identity the moment it woke.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { sql } from 'kysely';
import { testDatabaseUrl, useTestSchema } from '../../support/schema.js';
import { spawnReplica, stopReplicas, type ReplicaHandle } from '../../support/cluster.js';
import { testScheduler, waitForEvents } from '../../support/scheduler.js';
import { defineJob, defineTrigger } from '../../support/fixtures.js';
import type { Scheduler } from '../../../src/scheduler.js';
import { parseRunLog } from '../../../src/audit/run-log.js';

const TIMINGS = {
  heartbeatIntervalMs: 500,
  leaseTtlMs: 2_000,
  sessionGraceMs: 300,
  deadAfterMs: 3_000,
  recoveryIntervalMs: 300,
};

const REPLICA = fileURLToPath(new URL('./run-log-replica.ts', import.meta.url));

const database = useTestSchema();
let leader: Scheduler | undefined;
const replicas: ReplicaHandle[] = [];
const dir = mkdtempSync(join(tmpdir(), 'belfry-stall-'));

afterAll(async () => {
  for (const replica of replicas) replica.child.kill('SIGCONT');
  await stopReplicas(replicas, 'SIGKILL');
  await leader?.stop({ timeoutMs: 500 });
  rmSync(dir, { recursive: true, force: true });
});

it('starts no handler under its dead identity after a stall past dead-after, and works on under a new one', async () => {
  const ex = { db: database.db, schema: database.schema };
  await defineJob(ex, 'logged');
  const { rows: now } = await sql<{ at: Date }>`SELECT clock_timestamp() AS at`.execute(database.db);
  for (let i = 0; i < 5; i += 1) {
    const spec = { kind: 'interval', everyMs: 200 } as const;
    await defineTrigger(ex, { name: `busy-${i}`, job: 'logged', spec }, now[0]!.at);
  }
  // The leader runs no jobs: it only watches, declares the stalled replica dead and recovers its work.
  leader = testScheduler(database, { instanceName: 'watcher', timings: TIMINGS });
  const elected = waitForEvents(leader, 'leader:elected', 1);
  await leader.start();
  await elected;

  const runLog = join(dir, 'runs.jsonl');
  const victim = spawnReplica({
    name: 'victim',
    databaseUrl: testDatabaseUrl(),
    schema: database.schema,
    timings: TIMINGS,
    concurrency: 100,
    command: [process.execPath, '--import', 'tsx', REPLICA],
    env: { RUN_LOG: runLog, FIRE_AHEAD_MS: '1000' },
  });
  replicas.push(victim);
  const started = await victim.waitFor('started');
  const deadId = String(started.instance);
  await victim.waitFor('execution:started', (e) => e.instance === deadId);
  // Stopped at no particular moment (not in the burst that announced the first start).
  await new Promise((resolve) => setTimeout(resolve, 250));

  // Stopped in the middle of a transaction, it holds its instance row until the server ends that
  // transaction (idle_in_transaction_session_timeout: deadAfterMs, at least 5 s); the leader skips the row
  // until then. The wait allows for replica and server slowed by a loaded machine.
  const declared = waitForEvents(leader, 'instance:dead', 1, (e) => e.instanceId === deadId, 45_000);
  victim.child.kill('SIGSTOP');
  const [death] = await declared;
  expect(death!.reason).toMatch(/^no check-in for/);
  // Let the leader recover what the victim held, and more triggers fall due, before it wakes.
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  victim.child.kill('SIGCONT');

  await victim.waitFor('instance:fenced', () => true, 15_000);
  const newId = await victim
    .waitFor('execution:started', (e) => e.instance !== deadId, 15_000)
    .then((e) => String(e.instance));
  await stopReplicas([victim]);

  const { rows } = await sql<{ stopped_at: Date; state: string }>`
    SELECT stopped_at, state FROM ${sql.table(`${database.schema}.instances`)} WHERE id = ${deadId}`.execute(
    database.db,
  );
  expect(rows[0]!.state).toBe('dead');
  const deadAt = rows[0]!.stopped_at.getTime();
  const log = parseRunLog(readFileSync(runLog, 'utf8'));
  const underDeadId = log.runs.filter((run) => run.instanceId === deadId);
  const afterDeath = underDeadId.filter((run) => run.wallTime.getTime() >= deadAt);
  expect(underDeadId.length).toBeGreaterThan(0); // it did work before the stall
  expect(afterDeath).toEqual([]);
  expect(log.runs.some((run) => run.instanceId === newId)).toBe(true);
  // Nor did the database take a claim or an acquisition under the dead id once it was dead.
  const { rows: late } = await sql<{ n: number }>`
    SELECT count(*)::int AS n FROM ${sql.table(`${database.schema}.executions`)}
     WHERE instance_id = ${deadId} AND started_at >= ${rows[0]!.stopped_at}`.execute(database.db);
  expect(late[0]!.n).toBe(0);
}, 90_000);
