/**
 * A replica whose connections are killed (pg_terminate_backend) takes its session lock back well within
 * the leader's session grace, so it is not mistaken for a crashed one.
 */
import { expect, it } from 'vitest';
import { sql } from 'kysely';
import { useTestSchema } from '../support/schema.js';
import { testScheduler, waitForEvents } from '../support/scheduler.js';
import { lockNamespace } from '../../src/store/lock-keys.js';

const database = useTestSchema();

class Noop {
  execute() {}
}

it('retakes its session lock within the grace after its connections are killed', async () => {
  const scheduler = testScheduler(database, { instanceName: 'victim' }).registerJob('noop', Noop);
  await scheduler.start();
  const namespace = lockNamespace(database.schema);
  const lockHeld = async () => {
    const { rows } = await sql<{ n: number }>`
      SELECT count(*)::int AS n FROM pg_locks l JOIN ${sql.table(`${database.schema}.instances`)} i ON l.objid = i.lock_key::oid
       WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2 AND l.classid = ${namespace}::oid
         AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
         AND i.id = ${scheduler.instanceId}`.execute(database.db);
    return rows[0]!.n === 1;
  };
  expect(await lockHeld()).toBe(true);
  const restored = waitForEvents(scheduler, 'database:available', 1, (e) => e.service === 'session', 10_000);
  const started = performance.now();
  await sql`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name IN ('belfry:victim', 'belfry-session:victim')`.execute(
    database.db,
  );
  await restored;
  while (!(await lockHeld())) await new Promise((resolve) => setTimeout(resolve, 20));
  const tookMs = performance.now() - started;
  console.log(`[session] lock back after ${Math.round(tookMs)} ms`);
  expect(tookMs).toBeLessThan(1_500);
  await scheduler.stop();
});
