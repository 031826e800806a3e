/**
 * The cost of reading time through `belfry_now()` / `belfry_clock()` (migration 0010, decision 0008) on
 * the firing hot path, before and after, in the same run: one process, one server, two identical
 * schemas, the acquisition (lock → plan → record → commit) and the completion flush run in alternating
 * rounds by two copies of the store: this checkout's, and one from a checkout before the change (its
 * SQL names now() / clock_timestamp() directly).
 *
 * "Before" is this commit's store with the two time helpers put back to the SQL they replaced, so the
 * only difference is the time source:
 *   mkdir /tmp/belfry-before && git archive HEAD src package.json | tar -x -C /tmp/belfry-before
 *   ln -s "$PWD/node_modules" /tmp/belfry-before/node_modules
 *   # in /tmp/belfry-before/src/store/executor.ts: dbNow's `belfry_now()` -> now(), dbClock's -> clock_timestamp()
 *   npx tsx bench/time-source.ts --before /tmp/belfry-before [--fires 5000] [--batch 100] [--rounds 6]
 *
 * Without --before, both sides use this checkout (an A/A run: the noise floor of the machine).
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { intFlag, parseFlags, stringFlag } from './support/args.js';
import { insertBenchTriggers } from './support/belfry-db.js';
import { runMain } from './support/cleanup.js';
import { startBenchServer } from './support/postgres.js';
import { median, round } from './support/stats.js';
import { monoMs, wallMs } from './support/time.js';
import { advanceOf, fireOf, planTrigger } from '../src/engine/fire-planner.js';
import { jobRecordFromOptions } from '../src/jobs/job-record.js';
import { migrate } from '../src/store/migrator.js';
import type { Database } from '../src/store/tables.js';
import { compileSchedule, type ScheduleSpec } from '../src/time/schedule.js';
import type * as FireStore from '../src/store/fire-store.js';
import type * as ExecutionStore from '../src/store/execution-store.js';
import type * as DefinitionStore from '../src/store/definition-store.js';
import type * as ExecutorModule from '../src/store/executor.js';

interface Store {
  fire: typeof FireStore;
  execution: typeof ExecutionStore;
  definition: typeof DefinitionStore;
  executor: typeof ExecutorModule;
}

async function loadStore(root: string): Promise<Store> {
  const load = (file: string) => import(pathToFileURL(resolve(root, 'src/store', file)).href);
  return {
    fire: (await load('fire-store.ts')) as typeof FireStore,
    execution: (await load('execution-store.ts')) as typeof ExecutionStore,
    definition: (await load('definition-store.ts')) as typeof DefinitionStore,
    executor: (await load('executor.ts')) as typeof ExecutorModule,
  };
}

await runMain(async () => {
  const flags = parseFlags({
    before: { type: 'string' },
    fires: { type: 'string' },
    batch: { type: 'string' },
    rounds: { type: 'string' },
  });
  const beforeRoot = stringFlag(flags.before);
  const fires = intFlag(flags.fires, 5_000);
  const batch = intFlag(flags.batch, 100);
  const rounds = intFlag(flags.rounds, 5);
  const sides = [
    {
      label: beforeRoot ? 'before (now() in SQL)' : 'A (this checkout)',
      store: await loadStore(beforeRoot ?? '.'),
    },
    { label: beforeRoot ? 'after (belfry_now())' : 'B (this checkout)', store: await loadStore('.') },
  ];
  const server = await startBenchServer({ prefix: 'bench-pg-time-source' });
  const url = await server.createDatabase('bench_time_source');
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  const instanceId = '00000000-0000-0000-0000-000000000001';
  // One schema for both sides (each round fires its own fresh triggers), so neither side gets a table
  // of its own that the other lacks (an A/A run with two schemas differed by 17 %).
  const schema = 'time_source';
  await migrate(pool, schema);
  await pool.query(
    `INSERT INTO ${schema}.instances (id, name, host, pid, version, lock_key) VALUES ($1, 'bench', 'h', 1, 'x', 1)`,
    [instanceId],
  );

  /** Fires `fires` due one-offs in batches; returns fires per second. */
  const fireAll = async (side: (typeof sides)[number], schema: string, group: string) => {
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) }).withSchema(schema);
    const ex = { db, schema };
    const { fire, execution, definition, executor } = side.store;
    await definition.upsertJob(ex, jobRecordFromOptions('noop', {}, 'bench'));
    const due = wallMs() - 1_000;
    await insertBenchTriggers(pool, schema, {
      group,
      job: 'noop',
      triggers: Array.from({ length: fires }, (_, i) => ({
        name: `${group}-${i}`,
        kind: 'once' as const,
        firstAt: due,
      })),
    });
    await pool.query(`VACUUM ANALYZE ${schema}.triggers`);
    const started = monoMs();
    let fired = 0;
    for (;;) {
      const recorded = await executor.inTransaction(ex, async (tx) => {
        const { triggers } = await fire.lockDueTriggers(tx, { instanceId, jobs: ['noop'], limit: batch });
        const advances = [];
        const toRecord = [];
        for (const trigger of triggers) {
          const plan = planTrigger(trigger, compileSchedule(trigger.spec as ScheduleSpec), trigger.dbNow);
          advances.push(advanceOf(trigger, plan));
          for (const planned of plan.fires) toRecord.push(fireOf(trigger, planned, null));
        }
        return triggers.length === 0 ? [] : fire.recordFires(tx, { instanceId, advances, fires: toRecord });
      });
      if (recorded.length === 0) break;
      fired += recorded.length;
      await execution.completeExecutions(ex, {
        instanceId,
        outcomes: recorded.map((r) => ({
          executionId: r.executionId,
          scheduledAt: r.scheduledAt,
          status: 'succeeded' as const,
          error: null,
          result: null,
          traceId: null,
          retryAfterMs: null,
        })),
      });
    }
    return (fired / (monoMs() - started)) * 1_000;
  };

  const results = sides.map(() => [] as number[]);
  for (let r = 0; r < rounds; r += 1) {
    // Alternate which side goes first, so a drift of the machine's load does not favour one.
    const order = r % 2 === 0 ? [0, 1] : [1, 0];
    for (const i of order) results[i]!.push(await fireAll(sides[i]!, schema, `s${i}r${r}`));
  }
  console.table(
    sides.map((side, i) => ({
      side: side.label,
      'fires/s per round': results[i]!.map((x) => round(x, 0)).join(' '),
      'median fires/s': round(median(results[i]!), 0),
    })),
  );
  const [a, b] = results.map((xs) => median(xs)!);
  process.stdout.write(
    `after / before: ${round((b! / a!) * 100, 1)} % (batch ${batch}, ${fires} fires a round)\n`,
  );
  await pool.end();
});
