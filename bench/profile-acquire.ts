/**
 * Before/after of one acquisition transaction (lock, plan, record, commit), interleaved in one process so
 * both see the same load on a shared machine: this checkout's fire-store against another checkout's
 * (a `git worktree` of an older commit, its node_modules linked). 20,000 one-offs due now on statistics
 * as stale as a table that filled in seconds; acquisitions alternate between the two until drained.
 *
 *   git worktree add --detach /tmp/before <commit> && ln -s "$PWD/node_modules" /tmp/before/node_modules
 *   npx tsx bench/profile-acquire.ts --compare /tmp/before [--triggers 20000] [--batch-sizes 10,500]
 */
import { resolve } from 'node:path';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { intFlag, parseFlags, stringFlag } from './support/args.js';
import { insertOneOffTriggers } from './support/belfry-db.js';
import { runMain } from './support/cleanup.js';
import { startBenchServer } from './support/postgres.js';
import { median, round } from './support/stats.js';
import { monoMs } from './support/time.js';
import { advanceOf, fireOf, planTrigger } from '../src/engine/fire-planner.js';
import { jobRecordFromOptions } from '../src/jobs/job-record.js';
import { upsertJob } from '../src/store/definition-store.js';
import { inTransaction, type Executor } from '../src/store/executor.js';
import * as current from '../src/store/fire-store.js';
import type { DueTrigger, FireToRecord, TriggerAdvance } from '../src/store/fire-store.js';
import { migrate } from '../src/store/migrator.js';
import type { Database } from '../src/store/tables.js';
import { compileSchedule, type ScheduleSpec } from '../src/time/schedule.js';

const SCHEMA = 'belfry';
type FireStore = Pick<typeof current, 'recordFires'> & {
  lockDueTriggers: (ex: Executor, params: current.LockDueTriggersParams) => Promise<unknown>;
};

await runMain(async () => {
  const flags = parseFlags({
    compare: { type: 'string' },
    triggers: { type: 'string' },
    'batch-sizes': { type: 'string' },
  });
  const total = intFlag(flags.triggers, 20_000);
  const batchSizes = (stringFlag(flags['batch-sizes']) ?? '10,500').split(',').map(Number);
  const compare = stringFlag(flags.compare);
  const variants: [string, FireStore][] = [['this checkout', current]];
  if (compare)
    variants.unshift([compare, (await import(resolve(compare, 'src/store/fire-store.ts'))) as FireStore]);
  const server = await startBenchServer({ prefix: 'bench-pg-acquire' });
  const url = await server.createDatabase('bench_acquire');
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  let statements = 0;
  const db = new Kysely<Database>({
    dialect: new PostgresDialect({ pool }),
    log: () => void (statements += 1),
  }).withSchema(SCHEMA);
  const ex: Executor = { db, schema: SCHEMA };
  await migrate(pool, SCHEMA);
  await upsertJob(ex, jobRecordFromOptions('noop', {}, 'bench'));
  const instanceId = '00000000-0000-0000-0000-000000000001';
  await pool.query(
    `INSERT INTO ${SCHEMA}.instances (id, name, host, pid, version, lock_key) VALUES ($1, 'acquire', 'h', 1, 'x', 1)`,
    [instanceId],
  );

  const rows: Record<string, unknown>[] = [];
  for (const batchSize of batchSizes) {
    await insertOneOffTriggers(pool, SCHEMA, {
      group: `b${batchSize}`,
      job: 'noop',
      at: null,
      data: Array.from({ length: total }, () => ({})),
    });
    const times = variants.map(() => [] as number[]);
    const counts = variants.map(() => [] as number[]);
    const lockTimes = variants.map(() => [] as number[]);
    for (let round = 0, done = false; !done; round += 1) {
      for (const [index, [, store]] of variants.entries()) {
        statements = 0;
        const started = monoMs();
        const fired = await inTransaction(ex, async (tx) => {
          const lockStarted = monoMs();
          const locked = await store.lockDueTriggers(tx, { instanceId, jobs: ['noop'], limit: batchSize });
          lockTimes[index]!.push(monoMs() - lockStarted);
          const due = (
            Array.isArray(locked) ? locked : (locked as { triggers: DueTrigger[] }).triggers
          ) as DueTrigger[];
          const advances: TriggerAdvance[] = [];
          const fires: FireToRecord[] = [];
          for (const trigger of due) {
            const plan = planTrigger(trigger, compileSchedule(trigger.spec as ScheduleSpec), trigger.dbNow);
            advances.push(advanceOf(trigger, plan));
            for (const planned of plan.fires) fires.push(fireOf(trigger, planned, null));
          }
          if (due.length === 0) return 0;
          return (await store.recordFires(tx, { instanceId, advances, fires })).length;
        });
        if (fired < batchSize) {
          done = true;
          break;
        }
        times[index]!.push(monoMs() - started);
        counts[index]!.push(statements);
      }
    }
    for (const [index, [name]] of variants.entries()) {
      const ms = median(times[index]!) ?? 0;
      rows.push({
        code: name,
        batchSize,
        acquisitions: times[index]!.length,
        roundTrips: median(counts[index]!),
        lockMsP50: round(median(lockTimes[index]!), 2),
        transactionMsP50: round(ms, 2),
        perFireUs: round((ms * 1_000) / batchSize, 0),
      });
    }
  }
  console.table(rows);
  await db.destroy();
  await server.stop();
});
