/**
 * graphile-worker and pg-boss under test: worker processes (bench/peer-worker.ts) on a fresh database,
 * jobs enqueued through the peer's own client API by the orchestrator (graphile-worker `addJobs`/`addJob`,
 * pg-boss `insert`/`send`). Completion is read from the peer's own tables: graphile-worker deletes a
 * finished job, pg-boss marks it `completed`.
 */
import { makeWorkerUtils, runMigrations } from 'graphile-worker';
import PgBoss from 'pg-boss';
import { onCleanup } from '../support/cleanup.js';
import { BenchChild, stopAll } from '../support/children.js';
import type { GraphileWorkerOptions, PeerWorkerConfig, PgBossWorkerOptions } from '../peer-worker.js';
import type { Column, RunningSystem, SystemContext, SystemDriver, SystemName } from './system.js';

function startWorkers(
  ctx: SystemContext,
  system: SystemName,
  column: Column,
  config: (name: string) => PeerWorkerConfig,
): BenchChild[] {
  return Array.from({ length: ctx.processes }, (_, i) => {
    const name = `${system}-${column}-${i + 1}`;
    return new BenchChild({ name, script: 'bench/peer-worker.ts', logDir: ctx.logDir, config: config(name) });
  });
}

async function readyOrStop(workers: BenchChild[], cleanup: () => Promise<void>): Promise<void> {
  try {
    await Promise.all(workers.map((worker) => worker.ready()));
  } catch (error) {
    await stopAll(workers, { graceMs: 5_000 });
    await cleanup();
    throw error;
  }
}

export function graphileDriver(columns: Record<Column, GraphileWorkerOptions>): SystemDriver {
  return {
    system: 'graphile-worker',
    settings: (column) => {
      const options = columns[column];
      return Object.keys(options).length === 0
        ? {
            run: 'no options (defaults: concurrency 1, pollInterval 2000, localQueue off, completeJobBatchDelay -1)',
          }
        : { run: options };
    },
    async start(ctx, column): Promise<RunningSystem> {
      const database = `bench_graphile_${column}`;
      const url = await ctx.server.createDatabase(database);
      await runMigrations({ connectionString: url });
      const utils = await makeWorkerUtils({ connectionString: url });
      const close = async () => {
        await utils.release();
        unregister();
      };
      const unregister = onCleanup('close the graphile-worker client', () => utils.release());
      const workers = startWorkers(ctx, 'graphile-worker', column, (name) => ({
        system: 'graphile-worker',
        connectionString: url,
        name,
        graphile: columns[column],
      }));
      await readyOrStop(workers, close);
      return {
        database,
        processes: workers,
        async enqueue(_group, payloads, at) {
          // One addJobs call is one statement (one transaction).
          await utils.addJobs(
            payloads.map((payload) => ({ identifier: 'noop', payload, ...(at ? { runAt: at } : {}) })),
          );
        },
        async addOne(payload) {
          await utils.addJob('noop', payload);
        },
        finished: (group, enqueued) =>
          utils.withPgClient(async (client) => {
            const { rows } = await client.query<{ n: number }>(
              `SELECT count(*)::int AS n FROM graphile_worker._private_jobs WHERE payload->>'g' = $1`,
              [group],
            );
            return enqueued - rows[0]!.n;
          }),
        async discard(group) {
          await utils.withPgClient((client) =>
            client.query(
              `DELETE FROM graphile_worker._private_jobs WHERE payload->>'g' = $1 AND locked_at IS NULL`,
              [group],
            ),
          );
        },
        async stop() {
          await stopAll(workers, { graceMs: 15_000 });
          await close();
        },
      };
    },
  };
}

export function pgBossDriver(columns: Record<Column, PgBossWorkerOptions>): SystemDriver {
  return {
    system: 'pg-boss',
    settings: (column) => {
      const { workers, ...work } = columns[column];
      return {
        'work() calls per process': workers,
        'work() options':
          Object.keys(work).length === 0 ? 'none (defaults: batchSize 1, pollingIntervalSeconds 2)' : work,
        constructor: 'defaults (supervise, schedule on)',
      };
    },
    async start(ctx, column): Promise<RunningSystem> {
      const database = `bench_pgboss_${column}`;
      const url = await ctx.server.createDatabase(database);
      const boss = new PgBoss({
        connectionString: url,
        supervise: false,
        schedule: false,
        application_name: 'bench-orchestrator',
      });
      boss.on('error', (error) => process.stderr.write(`[pg-boss orchestrator] ${String(error)}\n`));
      await boss.start();
      await boss.createQueue('noop');
      const close = async () => {
        await boss.stop({ graceful: false, wait: true, timeout: 5_000 });
        unregister();
      };
      const unregister = onCleanup('close the pg-boss client', () =>
        boss.stop({ graceful: false, wait: true, timeout: 5_000 }),
      );
      const workers = startWorkers(ctx, 'pg-boss', column, (name) => ({
        system: 'pg-boss',
        connectionString: url,
        name,
        pgBoss: columns[column],
      }));
      await readyOrStop(workers, close);
      const db = boss.getDb();
      return {
        database,
        processes: workers,
        async enqueue(_group, payloads, at) {
          // One insert call is one statement (one transaction).
          await boss.insert(
            payloads.map((data) => ({ name: 'noop', data, ...(at ? { startAfter: at } : {}) })),
          );
        },
        async addOne(payload) {
          await boss.send('noop', payload);
        },
        async finished(group) {
          const { rows } = await db.executeSql(
            `SELECT count(*)::int AS n FROM pgboss.job WHERE name = 'noop' AND data->>'g' = $1 AND state = 'completed'`,
            [group],
          );
          return (rows[0] as { n: number }).n;
        },
        async discard(group) {
          await db.executeSql(
            `DELETE FROM pgboss.job WHERE name = 'noop' AND data->>'g' = $1 AND state = 'created'`,
            [group],
          );
        },
        async stop() {
          await stopAll(workers, { graceMs: 15_000 });
          await close();
        },
      };
    },
  };
}
