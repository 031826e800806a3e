/**
 * A pending replan is locked when it is due, as the due walk judges due-ness: `replan_at` is the change
 * (in the past: replanned at once) or the next fire a superseded schedule still owes (kept by the planner
 * while it walks the old schedule). A kept fire ahead of the database clock (the clock stepped back after
 * the change) is neither locked by every acquisition nor fired early; it is taken within the lookahead like
 * any due trigger, and a stored next fire due before it is still owed on time.
 */
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import pino from 'pino';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ExecutorPool } from '../../../src/engine/executor-pool.js';
import { SchedulerEventBus } from '../../../src/events/scheduler-events.js';
import { TriggerAcquirer } from '../../../src/engine/trigger-acquirer.js';
import { inTransaction, type Executor } from '../../../src/store/executor.js';
import { lockDueTriggers } from '../../../src/store/fire-store.js';
import { defineJob, defineTrigger } from '../../support/fixtures.js';
import { useTestSchema } from '../../support/schema.js';

const database = useTestSchema();
const ex = (): Executor => ({ db: database.db, schema: database.schema });
const table = (name: string) => sql.table(`${database.schema}.${name}`);
let instanceId: string;

beforeAll(async () => {
  instanceId = randomUUID();
  await sql`INSERT INTO ${table('instances')} (id, name, host, pid, version, lock_key)
            VALUES (${instanceId}, 'test', 'h', 1, 'x', nextval(${`${database.schema}.instance_lock_key`}::regclass))`.execute(
    database.db,
  );
});
afterEach(async () => {
  await sql`TRUNCATE ${table('fires')}, ${table('executions')}, ${table('triggers')}, ${table('jobs')} CASCADE`.execute(
    database.db,
  );
});

const OLD_SPEC = { kind: 'interval', everyMs: 60_000 };
const MINUTE = 60_000;

/**
 * A trigger on an hourly schedule that replaced a per-minute one: `replan_at` and the stored next fire
 * `replanInMs` and `nextInMs` from the database's now (or at the minute just begun, one of the old
 * schedule's times), the old schedule owed up to the replan.
 */
async function pendingReplan(options: {
  replanInMs: number;
  nextInMs: number | 'this minute';
}): Promise<string> {
  await defineJob(ex(), 'work');
  const id = await defineTrigger(
    ex(),
    { name: 'changed', job: 'work', spec: { kind: 'interval', everyMs: 60 * MINUTE } },
    new Date('2020-01-01T00:00:00Z'),
  );
  await sql`UPDATE ${table('triggers')}
               SET replan_at = date_trunc('milliseconds', now() + ${options.replanInMs}::float8 * interval '1 millisecond'),
                   next_fire_at = ${
                     options.nextInMs === 'this minute'
                       ? sql`date_trunc('minute', now())`
                       : sql`date_trunc('milliseconds', now() + ${options.nextInMs}::float8 * interval '1 millisecond')`
                   },
                   previous_fire_at = now() - interval '1 hour',
                   superseded_schedules = jsonb_build_array(jsonb_build_object(
                     'spec', ${JSON.stringify(OLD_SPEC)}::jsonb,
                     'until', date_trunc('milliseconds', now() + ${options.replanInMs}::float8 * interval '1 millisecond')))
             WHERE id = ${id}`.execute(database.db);
  return id;
}

async function lockedIds(lookaheadMs = 0): Promise<{ ids: string[]; idleDelayMs?: number | null }> {
  return inTransaction(ex(), async (tx) => {
    const { triggers, idleDelayMs } = await lockDueTriggers(tx, {
      instanceId,
      jobs: ['work'],
      limit: 10,
      lookaheadMs,
    });
    return { ids: triggers.map((trigger) => trigger.id), idleDelayMs };
  });
}

function acquirer(): TriggerAcquirer {
  return new TriggerAcquirer({
    executor: ex(),
    pool: { freeSlots: 10, run: () => {} } as unknown as ExecutorPool,
    events: new SchedulerEventBus(),
    logger: pino({ level: 'silent' }),
    instanceId: () => instanceId,
    jobNames: () => ['work'],
    batchSize: 10,
    maxIdleMs: 60 * MINUTE,
  });
}

const firesOf = async (id: string) =>
  (
    await sql<{ scheduled_at: Date }>`SELECT scheduled_at FROM ${table('fires')} WHERE trigger_id = ${id}
                                       ORDER BY scheduled_at`.execute(database.db)
  ).rows.map((row) => row.scheduled_at);

describe('a pending replan', () => {
  it('is locked at once when the change is past, however far the stored next fire', async () => {
    const id = await pendingReplan({ replanInMs: -1_000, nextInMs: 60 * MINUTE });
    expect((await lockedIds()).ids).toEqual([id]);
  });

  it('kept at a fire the old schedule owes ahead of the clock: not locked, not fired early, slept until', async () => {
    const id = await pendingReplan({ replanInMs: 10 * MINUTE, nextInMs: 10 * MINUTE });
    const locked = await lockedIds();
    expect(locked.ids).toEqual([]);
    expect(locked.idleDelayMs).toBeGreaterThan(9 * MINUTE);
    const tick = await acquirer().tick();
    expect(tick.fired).toBe(0);
    expect(tick.waitMs).toBeGreaterThan(9 * MINUTE);
    expect(await firesOf(id)).toEqual([]);
  });

  it('is taken within the lookahead like any due trigger, but a forbid job only when due', async () => {
    const id = await pendingReplan({ replanInMs: 10 * MINUTE, nextInMs: 10 * MINUTE });
    expect((await lockedIds(11 * MINUTE)).ids).toEqual([id]);
    expect((await lockedIds(9 * MINUTE)).ids).toEqual([]);
    await sql`UPDATE ${table('jobs')} SET concurrency = 'forbid'`.execute(database.db);
    expect((await lockedIds(11 * MINUTE)).ids).toEqual([]);
  });

  it('ahead of the clock, with a stored next fire already due: that fire runs on time', async () => {
    const id = await pendingReplan({ replanInMs: 10 * MINUTE, nextInMs: 'this minute' });
    const stored = (
      await sql<{ at: Date }>`SELECT next_fire_at AS at FROM ${table('triggers')} WHERE id = ${id}`.execute(
        database.db,
      )
    ).rows[0]!.at;
    const tick = await acquirer().tick();
    expect(tick.fired).toBe(1);
    expect(await firesOf(id)).toEqual([stored]);
    // The old schedule's next time is still ahead of the clock: kept, and not taken again yet.
    const { rows } = await sql<{ replan_at: Date | null }>`SELECT replan_at FROM ${table('triggers')}
                                                             WHERE id = ${id}`.execute(database.db);
    expect(rows[0]!.replan_at?.getTime()).toBe(stored.getTime() + MINUTE);
    expect((await lockedIds()).ids).toEqual([]);
  });
});
