/**
 * `createTestCluster`: real replicas (Scheduler instances, in this process) on a real PostgreSQL, in a
 * schema of their own, with a clock the test moves.
 *
 * The clock (docs/decisions/0008-test-clock.md): the schema is created in test mode, so its
 * `belfry_now()` / `belfry_clock()` add an offset to PostgreSQL's clock (store/test-clock-store.ts), and
 * the replicas share a `TestClock` with the same offset. Every decision the engine takes by the database
 * clock (due-ness, misfires, leases, history times) and every sleep a replica takes by its own clock move
 * together. Nothing in the engine knows it is under test.
 *
 * `advanceTo(t)` walks time forward from due time to due time: it sets the clock to the earliest next
 * fire (or pending execution), waits until the engine has fired everything due then and the executions
 * have finished, and goes on until `t`. So the fires happen in order, each on time, by the production
 * code path. `outage(d)` jumps the clock in one step instead, as if every replica had been down: the
 * engine then finds the fires late and its misfire policies decide.
 *
 * The replicas run with cluster timings stretched past any test's span (check-ins, lease, dead-after):
 * a jump of a day must not make a live replica look dead. History retention is off for the same reason.
 */
import { randomBytes } from 'node:crypto';
import pino, { type Logger } from 'pino';
import { BelfryError } from '../errors/belfry-error.js';
import { applyDefinitions } from '../config/definition-reconciler.js';
import { definitionsCalendarResolver, type Definitions } from '../config/definitions.js';
import { registerDefinitionJobs } from '../config/job-registrar.js';
import type { JobClass, JobOptions } from '../jobs/job.js';
import { createScheduler, type Scheduler } from '../scheduler.js';
import { openDatabase, type BelfryDatabase } from '../store/database.js';
import { notifyChange } from '../store/executor.js';
import { queryHistory, type HistoryRow } from '../store/history-store.js';
import { migrate } from '../store/migrator.js';
import {
  dropTestSchema,
  installTestClock,
  moveTestClock,
  owedWork,
  readDatabaseTime,
  type OwedWork,
} from '../store/test-clock-store.js';
import { parseDuration } from '../time/duration.js';
import { compileSchedule, type ScheduleSpec } from '../time/schedule.js';
import { loadDefinitionsInput, type DefinitionsInput } from './definitions-input.js';
import { TestClock } from './test-clock.js';
import { startTestServer, type TestServer } from './test-server.js';

/** Far longer than any test runs in test time, and within every timer and interval limit. */
const FOREVER_MS = 100 * 365 * 86_400_000;
const SETTLE_TIMEOUT_MS = 30_000;

export interface TestJob {
  jobClass: JobClass<never>;
  options?: JobOptions;
}

export interface TestClusterOptions {
  /** YAML file path(s), a parsed object in the YAML's shape, or loaded definitions; applied at `start`. */
  definitions?: DefinitionsInput;
  /** Job classes registered in code, by name (YAML `module:` jobs are imported as `belfry start` does). */
  jobs?: Record<string, JobClass<never> | TestJob>;
  /** Replicas in this process (default 1). */
  replicas?: number;
  /**
   * The PostgreSQL: a URL, or a server from `startTestServer`. Default: `startTestServer({})` (a
   * testcontainers or embedded PostgreSQL, stopped with the cluster).
   */
  database?: string | TestServer;
  /** The test time the cluster starts at (default: now). */
  start?: Date | string;
  /** Schema name (default a fresh random one, dropped at stop). */
  schema?: string;
  /** Replicas' logger (default silent). */
  logger?: Logger;
  /** Executions at once per replica (default 20). */
  concurrency?: number;
}

export interface TestCluster {
  readonly schema: string;
  readonly replicas: readonly Scheduler[];
  readonly clock: TestClock;
  readonly definitions: Definitions | null;
  /** The test time now (the clock the database and the replicas share). */
  now(): Date;
  /** Moves time to `instant`, firing everything due on the way, in order, and waits for it to finish. */
  advanceTo(instant: Date | string): Promise<void>;
  /** `advanceTo(now + duration)`; a duration is ms or a text like `1d`, `36h`, `90s`. */
  advanceBy(duration: number | string): Promise<void>;
  /**
   * Every replica down for `duration` (the clock jumps; nothing fires on the way), then back: the engine
   * finds the missed fires late and applies each trigger's misfire policy, as after a real outage.
   */
  outage(duration: number | string): Promise<void>;
  /** Waits until nothing is due at the current time and nothing runs. */
  settle(): Promise<void>;
  /** The job_history rows, oldest first (by scheduled time, then execution). */
  history(filter?: { job?: string; trigger?: string }): Promise<HistoryRow[]>;
  /** The database's view of the time, read through the schema's clock function. */
  databaseTime(): Promise<Date>;
  /** Stops the replicas, drops the schema, stops a server the cluster started. Safe twice. */
  stop(): Promise<void>;
}

export async function createTestCluster(options: TestClusterOptions = {}): Promise<TestCluster> {
  const jobs = Object.entries(options.jobs ?? {}).map(([name, job]) =>
    typeof job === 'function' ? { name, jobClass: job, options: {} } : { name, ...job },
  );
  const definitions = options.definitions
    ? await loadDefinitionsInput(options.definitions, { knownJobs: jobs.map((job) => job.name) })
    : null;
  const server =
    typeof options.database === 'string' ? null : (options.database ?? (await startTestServer({})));
  const ownsServer = options.database === undefined;
  const url = typeof options.database === 'string' ? options.database : server!.url;
  const schema = options.schema ?? `belfry_test_${randomBytes(5).toString('hex')}`;
  const admin = openDatabase({ connectionString: url, schema, maxConnections: 3 });
  const executor = { db: admin.db, schema };
  const clock = new TestClock();
  const replicas: Scheduler[] = [];
  const databases: BelfryDatabase[] = [];
  const logger = options.logger ?? pino({ level: 'silent' });
  let stopped: Promise<void> | undefined;

  const stop = () =>
    (stopped ??= (async () => {
      await Promise.allSettled(replicas.map((replica) => replica.stop()));
      await Promise.allSettled(databases.map((database) => database.destroy()));
      await dropTestSchema(executor).catch(() => false);
      await admin.destroy();
      if (ownsServer && server) await server.stop();
    })());

  const setClock = async (at: Date) => {
    const offset = clock.offsetFor(at);
    if (offset < clock.offsetMs)
      throw new BelfryError(
        'BELFRY_ERR_TEST_CLOCK',
        `the test clock only moves forward (now ${clock.now().toISOString()}, asked ${at.toISOString()})`,
      );
    // An acquisition that read the time before the jump may be about to sleep until a time now past: the
    // wake-up sent with the move reaches it (a wake during a tick skips the sleep that follows).
    await moveTestClock(executor, { at, notify: 'clock' });
    clock.setOffset(clock.offsetFor(at));
  };

  try {
    await migrate(admin.pool, schema);
    await installTestClock(executor);
    await setClock(options.start === undefined ? clock.now() : new Date(options.start));
    const calendars = definitions ? definitionsCalendarResolver(definitions) : undefined;
    for (let i = 0; i < (options.replicas ?? 1); i += 1) {
      const database = openDatabase({
        connectionString: url,
        schema,
        maxConnections: 8,
        applicationName: `belfry-test:${i}`,
      });
      databases.push(database);
      const replica = createScheduler({
        database,
        instanceName: `replica-${i}`,
        migrate: false,
        clock,
        logger: logger.child({ replica: i }),
        concurrency: options.concurrency ?? 20,
        fireAheadMs: 0,
        historyRetentionMs: FOREVER_MS,
        createHistoryPartitions: false,
        timings: {
          heartbeatIntervalMs: FOREVER_MS,
          leaseTtlMs: FOREVER_MS,
          sessionGraceMs: FOREVER_MS,
          deadAfterMs: FOREVER_MS,
          recoveryIntervalMs: FOREVER_MS,
        },
        ...(calendars
          ? { compileSchedule: (spec) => compileSchedule(spec as ScheduleSpec, { calendars }) }
          : {}),
      });
      for (const job of jobs) replica.registerJob(job.name, job.jobClass, job.options);
      if (definitions) await registerDefinitionJobs(definitions, replica.registry);
      replicas.push(replica);
    }
    for (const replica of replicas) await replica.start();
    if (definitions) await applyDefinitions(executor, definitions);
  } catch (error) {
    await stop();
    throw error;
  }

  const owed = (at: Date): Promise<OwedWork> => owedWork(executor, { at });
  const isSettled = (work: OwedWork) =>
    work.dueTriggers === 0 && work.dueExecutions === 0 && work.running === 0;

  // Engine events that may mean "done", counted: an execution ended, or an acquisition found nothing due
  // (one that locked something is followed by its executions' events). A wait for progress returns at
  // once when one came since the caller looked.
  let events = 0;
  const waiters = new Set<() => void>();
  const progressed = () => {
    events += 1;
    for (const wake of [...waiters]) wake();
  };
  for (const replica of replicas) {
    for (const event of ['execution:finished', 'execution:vetoed', 'execution:skipped'] as const)
      replica.on(event, progressed);
    replica.on('acquisition:finished', ({ batchSize }) => {
      if (batchSize === 0) progressed();
    });
  }
  /** Resolves at the first engine event after `since` (a count of `events`), or after `ms`. */
  const progress = (since: number, ms: number) =>
    new Promise<void>((resolve) => {
      if (events > since) return resolve();
      const done = () => {
        clearTimeout(timer);
        waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      waiters.add(done);
    });

  /** Waits until nothing is due at the current time and nothing runs; `since`: the clock just moved. */
  const settle = async (since?: number): Promise<OwedWork> => {
    const deadline = performance.now() + SETTLE_TIMEOUT_MS;
    // Right after a move the engine has work to do: asking the database before it reacts is wasted.
    if (since !== undefined) await progress(since, 50);
    let nudgeAt = performance.now() + 100;
    for (;;) {
      const seen = events;
      const work = await owed(clock.now());
      if (isSettled(work)) return work;
      if (performance.now() > nudgeAt) {
        // Belt and braces for the race setClock covers: wake the replicas again while something stays due.
        nudgeAt = performance.now() + 100;
        await notifyChange(executor, 'clock');
      }
      if (performance.now() > deadline)
        throw new BelfryError(
          'BELFRY_ERR_TEST_CLOCK',
          `the cluster did not settle at ${clock.now().toISOString()} within ${SETTLE_TIMEOUT_MS} ms: ${work.dueTriggers} trigger(s) and ${work.dueExecutions} execution(s) due, ${work.running} running (is every job registered?)`,
        );
      await progress(seen, 10);
    }
  };

  const advanceTo = async (instant: Date | string): Promise<void> => {
    const target = new Date(instant);
    if (target.getTime() < clock.now().getTime())
      throw new BelfryError(
        'BELFRY_ERR_TEST_CLOCK',
        `advanceTo ${target.toISOString()} is in the past (now ${clock.now().toISOString()})`,
      );
    let since: number | undefined;
    for (let work = await settle(); ; work = await settle(since)) {
      const { nextAt } = work;
      if (nextAt === null || nextAt.getTime() > target.getTime()) break;
      since = events;
      if (nextAt.getTime() > clock.now().getTime()) await setClock(nextAt);
    }
    if (target.getTime() > clock.now().getTime()) await setClock(target);
    await settle();
  };

  const durationMs = (duration: number | string) =>
    typeof duration === 'number' ? duration : parseDuration(duration);

  return {
    schema,
    replicas,
    clock,
    definitions,
    now: () => clock.now(),
    advanceTo,
    advanceBy: (duration) => advanceTo(new Date(clock.now().getTime() + durationMs(duration))),
    outage: async (duration) => {
      await settle();
      const since = events;
      await setClock(new Date(clock.now().getTime() + durationMs(duration)));
      await settle(since);
    },
    settle: async () => void (await settle()),
    history: async (filter = {}) => (await queryHistory(executor, { ...filter, limit: 100_000 })).reverse(),
    databaseTime: () => readDatabaseTime(executor),
    stop,
  };
}
