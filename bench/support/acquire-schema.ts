/**
 * The schema the acquisition benches (hot-path, profile-acquire) measure against: a fresh server and
 * database, Belfry migrated into it, the job `noop`, and one registered instance to acquire under. The
 * Kysely handle reports every statement to `log`, which the benches use to time or count them.
 */
import { Kysely, PostgresDialect, type LogEvent } from 'kysely';
import pg from 'pg';
import { advanceOf, fireOf, planTrigger } from '../../src/engine/fire-planner.js';
import { jobRecordFromOptions } from '../../src/jobs/job-record.js';
import { upsertJob } from '../../src/store/definition-store.js';
import type { Executor } from '../../src/store/executor.js';
import type { DueTrigger, FireToRecord, TriggerAdvance } from '../../src/store/fire-store.js';
import { migrate } from '../../src/store/migrator.js';
import type { Database } from '../../src/store/tables.js';
import { compileSchedule, type ScheduleSpec } from '../../src/time/schedule.js';
import { startBenchServer, type BenchServer } from './postgres.js';

export const SCHEMA = 'belfry';
export const INSTANCE_ID = '00000000-0000-0000-0000-000000000001';

export interface AcquireSchema {
  server: BenchServer;
  pool: pg.Pool;
  db: Kysely<Database>;
  ex: Executor;
}

export async function openAcquireSchema(options: {
  /** Names the server's data folder and the database. */
  name: string;
  poolSize: number;
  log: (event: LogEvent) => void;
}): Promise<AcquireSchema> {
  const server = await startBenchServer({ prefix: `bench-pg-${options.name}` });
  const url = await server.createDatabase(`bench_${options.name}`);
  const pool = new pg.Pool({ connectionString: url, max: options.poolSize });
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }), log: options.log }).withSchema(
    SCHEMA,
  );
  const ex: Executor = { db, schema: SCHEMA };
  await migrate(pool, SCHEMA);
  await upsertJob(ex, jobRecordFromOptions('noop', {}, 'bench'));
  await pool.query(
    `INSERT INTO ${SCHEMA}.instances (id, name, host, pid, version, lock_key) VALUES ($1, $2, 'h', 1, 'x', 1)`,
    [INSTANCE_ID, options.name],
  );
  return { server, pool, db, ex };
}

/** Plans locked triggers as the acquirer does (no calendars, no tracing): their advances and fire rows. */
export function planLocked(triggers: readonly DueTrigger[]): {
  advances: TriggerAdvance[];
  fires: FireToRecord[];
} {
  const advances: TriggerAdvance[] = [];
  const fires: FireToRecord[] = [];
  for (const trigger of triggers) {
    const plan = planTrigger(trigger, compileSchedule(trigger.spec as ScheduleSpec), trigger.dbNow);
    advances.push(advanceOf(trigger, plan));
    for (const planned of plan.fires) fires.push(fireOf(trigger, planned, null));
  }
  return { advances, fires };
}
