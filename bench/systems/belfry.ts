/**
 * Belfry under test: replica processes (bench/belfry-replica.ts) on a fresh database. Jobs are one-off
 * triggers, the rows `fireNow`/`scheduleAt` write: jobs due now through `fireNow`'s statement
 * (`recordFiresNow`: fired, with pending attempts the replicas claim), one statement for a list as the
 * peers' bulk APIs do; jobs due later as waiting one-offs the planner fires.
 */
import { join } from 'node:path';
import { onCleanup } from '../support/cleanup.js';
import { BenchChild, stopAll } from '../support/children.js';
import { countFinished, fireNowMany, insertOneOffTriggers, oneOffAudit } from '../support/belfry-db.js';
import { openDatabase } from '../../src/store/database.js';
import { setTriggersPaused } from '../../src/store/definition-store.js';
import { migrate } from '../../src/store/migrator.js';
import type { ReplicaConfig } from '../belfry-replica.js';
import type { Column, JobPayload, RunningSystem, SystemContext, SystemDriver } from './system.js';

/** Options a replica gets; unset ones are the library's defaults. */
export interface BelfryBenchOptions {
  concurrency?: number;
  batchSize?: number;
  maxIdleMs?: number;
  /** Write a V8 CPU profile per replica into this directory. */
  cpuProfDir?: string;
}

const SCHEMA = 'belfry';
const JOB = 'noop';

export function startReplicas(
  ctx: { logDir: string },
  params: {
    url: string;
    schema: string;
    names: string[];
    options: BelfryBenchOptions;
    timings?: ReplicaConfig['timings'];
  },
): BenchChild[] {
  return params.names.map(
    (name) =>
      new BenchChild({
        name,
        script: 'bench/belfry-replica.ts',
        logDir: ctx.logDir,
        // One directory per replica: V8 writes a profile per thread (main, and tsx's loader thread).
        nodeFlags: params.options.cpuProfDir
          ? ['--cpu-prof', `--cpu-prof-dir=${join(params.options.cpuProfDir, name)}`]
          : [],
        config: {
          connectionString: params.url,
          schema: params.schema,
          instanceName: name,
          concurrency: params.options.concurrency,
          batchSize: params.options.batchSize,
          maxIdleMs: params.options.maxIdleMs,
          timings: params.timings,
        } satisfies ReplicaConfig,
      }),
  );
}

export function belfryDriver(columns: Record<Column, BelfryBenchOptions>): SystemDriver {
  return {
    system: 'belfry',
    settings(column) {
      const { concurrency, batchSize, maxIdleMs } = columns[column];
      const set = Object.fromEntries(
        Object.entries({ concurrency, batchSize, maxIdleMs }).filter(([, v]) => v !== undefined),
      );
      return Object.keys(set).length === 0
        ? { createScheduler: 'no options (the library defaults at this commit)' }
        : { createScheduler: set };
    },
    async start(ctx: SystemContext, column: Column): Promise<RunningSystem> {
      const databaseName = `bench_belfry_${column}`;
      const url = await ctx.server.createDatabase(databaseName);
      const database = openDatabase({
        connectionString: url,
        schema: SCHEMA,
        maxConnections: 4,
        applicationName: 'bench-orchestrator',
      });
      const unregister = onCleanup('close the orchestrator pool (belfry)', () => database.destroy());
      await migrate(database.pool, SCHEMA);
      const names = Array.from({ length: ctx.processes }, (_, i) => `belfry-${column}-${i + 1}`);
      const replicas = startReplicas(ctx, { url, schema: SCHEMA, names, options: columns[column] });
      try {
        await Promise.all(replicas.map((replica) => replica.ready()));
      } catch (error) {
        await stopAll(replicas, { graceMs: 5_000 });
        await database.destroy();
        unregister();
        throw error;
      }
      const ex = { db: database.db, schema: SCHEMA };
      return {
        database: databaseName,
        processes: replicas,
        // Due now: what `fireNow` writes (one statement for the list, like the peers' bulk inserts); at a
        // future instant: waiting one-offs, what `scheduleAt` writes.
        enqueue: (group, payloads, at) =>
          at === null
            ? fireNowMany(ex, {
                group,
                job: JOB,
                data: payloads as readonly JobPayload[] as unknown as Record<string, unknown>[],
              })
            : insertOneOffTriggers(database.pool, SCHEMA, {
                group,
                job: JOB,
                at,
                data: payloads as readonly JobPayload[] as unknown as Record<string, unknown>[],
              }),
        // `fireNow`'s own statement, for one job.
        addOne: (payload) => fireNowMany(ex, { group: payload.g, job: JOB, data: [{ ...payload }] }),
        finished: (group) => countFinished(database.pool, SCHEMA, group),
        audit: (group) => oneOffAudit(database.pool, SCHEMA, group),
        async discard(group) {
          // What `scheduler.pause({ group })` does: the triggers not yet fired stay unfired.
          await setTriggersPaused(ex, { target: { group }, paused: true });
        },
        async stop() {
          await stopAll(replicas, { graceMs: 15_000 });
          await database.destroy();
          unregister();
        },
      };
    },
  };
}
