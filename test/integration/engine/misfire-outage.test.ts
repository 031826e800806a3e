/**
 * Issue #10, item 2: three triggers every 100 ms with a 30 s misfire threshold, one per policy, paused
 * for 60 s and resumed. 600 missed periods each, more than one 500-fire chunk: the policy is decided
 * once for the whole outage. (The pause is written into the rows, 60 s back by the database clock, so
 * the test need not wait a minute; resuming goes through the scheduler as an operator's would.)
 */
import { sql } from 'kysely';
import { afterAll, expect, it } from 'vitest';
import type { Scheduler } from '../../../src/scheduler.js';
import { defineJob, defineTrigger } from '../../support/fixtures.js';
import { useTestSchema } from '../../support/schema.js';
import { testScheduler, waitForEvents } from '../../support/scheduler.js';

const database = useTestSchema();
let scheduler: Scheduler | undefined;
const ex = () => ({ db: database.db, schema: database.schema });

afterAll(async () => {
  await scheduler?.stop();
});

class Noop {
  async execute() {}
}

it(
  'skip runs none, fire-once-now one, fire-all at most its cap of the fires missed in a 60 s pause',
  { timeout: 60_000 },
  async () => {
    const { rows } = await sql<{ now: Date }>`SELECT clock_timestamp() AS now`.execute(database.db);
    const pausedAt = new Date(Math.floor(rows[0]!.now.getTime() / 100) * 100 - 60_000);
    await defineJob(ex(), 'noop');
    for (const policy of ['skip', 'fire-once-now', 'fire-all'] as const) {
      await defineTrigger(
        ex(),
        {
          name: policy,
          job: 'noop',
          spec: { kind: 'interval', everyMs: 100 },
          misfirePolicy: policy,
          misfireThresholdMs: 30_000,
        },
        pausedAt,
        { paused: true },
      );
    }
    scheduler = testScheduler(database, { concurrency: 20 }).registerJob('noop', Noop);
    await scheduler.start();
    const resumed = waitForEvents(
      scheduler,
      'trigger:fired',
      3,
      // The first on-time fire after the outage, per trigger: the outage walk is over.
      (() => {
        const seen = new Set<string>();
        return (event) => {
          if (event.scheduledAt.getTime() <= resumedAt.getTime() || seen.has(event.trigger)) return false;
          seen.add(event.trigger);
          return true;
        };
      })(),
    );
    const resumedAt = (await sql<{ now: Date }>`SELECT clock_timestamp() AS now`.execute(database.db))
      .rows[0]!.now;
    await scheduler.resume({ group: 'default' });
    await resumed;
    await scheduler.stop();
    scheduler = undefined;

    // The outage's fires are those recorded with its misfires: the walk records them (and the policy's
    // runs, in its final chunk) in the transactions that record misfires. An on-time fire after it is not.
    const { rows: history } = await sql<{ trigger: string; status: string; fires: string }>`
    WITH outage AS (
      SELECT DISTINCT f.trigger_name, f.fired_at
        FROM ${sql.table(`${database.schema}.fires`)} f
        JOIN ${sql.table(`${database.schema}.executions`)} e ON e.fire_id = f.id
       WHERE e.status = 'misfired')
    SELECT h.trigger, h.status, count(*) AS fires
      FROM ${sql.table(`${database.schema}.job_history`)} h
      LEFT JOIN outage o ON o.trigger_name = h.trigger AND o.fired_at = h.fired_at
     WHERE h.scheduled_at < ${resumedAt} OR o.fired_at IS NOT NULL
     GROUP BY h.trigger, h.status`.execute(database.db);
    const count = (trigger: string, predicate: (status: string) => boolean) =>
      history
        .filter((row) => row.trigger === trigger && predicate(row.status))
        .reduce((sum, row) => sum + Number(row.fires), 0);
    const ran = (status: string) => status !== 'misfired';
    // Every missed period is recorded: 600 in the pause, and the few that came due before the decision.
    for (const trigger of ['skip', 'fire-once-now', 'fire-all'])
      expect(count(trigger, () => true)).toBeGreaterThanOrEqual(600);
    expect({
      skip: count('skip', ran),
      'fire-once-now': count('fire-once-now', ran),
      'fire-all': count('fire-all', ran),
    }).toEqual({ skip: 0, 'fire-once-now': 1, 'fire-all': 10 });
  },
);
