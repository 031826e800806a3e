/**
 * A schedule change while the trigger is several fires behind (the replan gap found by the chaos run's
 * probe): every time the old schedule owed up to the change is still recorded, and the new schedule
 * governs after it. Before migration 0007 only the first overdue fire ran and the other old times were
 * lost, replaced by the new schedule's times before the change.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { applyDefinitions } from '../../../src/config/definition-reconciler.js';
import type { Definitions } from '../../../src/config/definitions.js';
import type { Scheduler } from '../../../src/scheduler.js';
import type { BelfryDatabase } from '../../../src/store/database.js';
import type { TriggerRecord } from '../../../src/store/definition-store.js';
import { defineJob } from '../../support/fixtures.js';
import { createTestDatabase, dropTestDatabase } from '../../support/schema.js';
import { testScheduler, waitForEvents } from '../../support/scheduler.js';

let database: BelfryDatabase;
let scheduler: Scheduler | undefined;
const ex = () => ({ db: database.db, schema: database.schema });

beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await scheduler?.stop();
  await dropTestDatabase(database);
});

function definitions(name: string, everyMs: number): Definitions {
  const record: TriggerRecord = {
    name,
    group: 'gap',
    job: 'tick',
    kind: 'interval',
    spec: { kind: 'interval', everyMs },
    calendarName: null,
    data: null,
    priority: 0,
    startAt: null,
    endAt: null,
    maxFires: null,
    misfirePolicy: 'fire-once-now',
    misfireThresholdMs: 60_000,
    source: 'yaml',
  };
  return {
    files: ['gap.yaml'],
    calendars: [],
    jobs: [],
    triggers: [{ name, record, paused: undefined, at: { file: 'gap.yaml', line: 1, column: 1 } }],
  };
}

class Tick {
  async execute() {}
}

const dbNow = async () =>
  (await sql<{ now: Date }>`SELECT clock_timestamp() AS now`.execute(database.db)).rows[0]!.now;

/** The trigger's recorded fires: scheduled time (ms) → execution status. */
async function firesOf(name: string): Promise<Map<number, string>> {
  const { rows } = await sql<{ scheduled_at: Date; status: string }>`
    SELECT f.scheduled_at, e.status
      FROM ${sql.table(`${database.schema}.fires`)} f
      JOIN ${sql.table(`${database.schema}.executions`)} e ON e.fire_id = f.id
     WHERE f.trigger_name = ${name}`.execute(database.db);
  return new Map(rows.map((row) => [row.scheduled_at.getTime(), row.status]));
}

it(
  'keeps every overdue time of the old schedule up to the change, then follows the new one',
  { timeout: 60_000 },
  async () => {
    await defineJob(ex(), 'tick');
    await applyDefinitions(ex(), definitions('gap', 1_000));
    // No replica ran for a while: the stored next fire is six seconds behind (well inside the threshold,
    // so every owed time runs on time, fire by fire).
    await sql`UPDATE ${sql.table(`${database.schema}.triggers`)}
                 SET next_fire_at = date_trunc('second', now()) - interval '6 seconds'
               WHERE name = 'gap'`.execute(database.db);
    const { rows } = await sql<{ next_fire_at: Date }>`
      SELECT next_fire_at FROM ${sql.table(`${database.schema}.triggers`)} WHERE name = 'gap'`.execute(
      database.db,
    );
    const behind = rows[0]!.next_fire_at.getTime();
    const notBefore = (await dbNow()).getTime();
    await applyDefinitions(ex(), definitions('gap', 3_000));
    const notAfter = (await dbNow()).getTime();

    scheduler = testScheduler(database).registerJob('tick', Tick);
    const firstNew = waitForEvents(
      scheduler,
      'trigger:fired',
      1,
      (fire) => fire.scheduledAt.getTime() > notAfter,
    );
    await scheduler.start();
    await firstNew;
    await scheduler.stop();
    scheduler = undefined;

    const fires = await firesOf('gap');
    const owedOld = [];
    for (let t = behind; t < notBefore; t += 1_000) owedOld.push(t);
    expect(owedOld.length).toBeGreaterThanOrEqual(6);
    expect(owedOld.filter((t) => !fires.has(t)).map((t) => new Date(t).toISOString())).toEqual([]);
    // Nothing off both schedules, and after the change only the new schedule's times.
    const stray = [...fires.keys()].filter((t) => (t <= notAfter ? t % 1_000 !== 0 : t % 3_000 !== 0));
    expect(stray).toEqual([]);
    expect([...fires.values()].every((status) => status !== 'misfired')).toBe(true);

    const { rows: after } = await sql<{ replan_at: Date | null; superseded_schedules: unknown }>`
      SELECT replan_at, superseded_schedules FROM ${sql.table(`${database.schema}.triggers`)}
       WHERE name = 'gap'`.execute(database.db);
    expect(after[0]).toEqual({ replan_at: null, superseded_schedules: null });
  },
);

it('two changes before any replica plans keep both old schedules, each up to its own change', async () => {
  await defineJob(ex(), 'tick');
  await applyDefinitions(ex(), definitions('twice', 1_000));
  await applyDefinitions(ex(), definitions('twice', 3_000));
  await applyDefinitions(ex(), definitions('twice', 5_000));
  const { rows } = await sql<{ replan_at: Date; superseded_schedules: { spec: unknown; until: string }[] }>`
    SELECT replan_at, superseded_schedules FROM ${sql.table(`${database.schema}.triggers`)}
     WHERE name = 'twice'`.execute(database.db);
  const { replan_at: replanAt, superseded_schedules: superseded } = rows[0]!;
  expect(superseded.map((piece) => piece.spec)).toEqual([
    { kind: 'interval', everyMs: 1_000 },
    { kind: 'interval', everyMs: 3_000 },
  ]);
  // The first change is the replan; each superseded schedule ends at its own change.
  expect(new Date(superseded[0]!.until).getTime()).toBe(Math.floor(replanAt.getTime()));
  expect(new Date(superseded[1]!.until).getTime()).toBeGreaterThanOrEqual(replanAt.getTime());
});
