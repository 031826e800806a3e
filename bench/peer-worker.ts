/**
 * A worker process of a peer system (graphile-worker or pg-boss) for the comparison in bench/run.ts.
 * Its one task, `noop`, records when its handler started (wall clock) and the lag against the times the
 * orchestrator put in the payload: `dueAt` (when the job was meant to start) and `addedAt` (when it was
 * asked for). Nothing is written to the database per job, so the measurement adds no load to the system
 * measured. Only the options the orchestrator set are passed, so an unset one is the library's default.
 */
import { Logger, run, type Runner } from 'graphile-worker';
import PgBoss from 'pg-boss';
import { childConfig, sendToParent, serveParent } from './support/children.js';
import { wallMs } from './support/time.js';

export interface GraphileWorkerOptions {
  concurrency?: number;
  pollInterval?: number;
  maxPoolSize?: number;
  /** graphile-worker's preset `worker` options (localQueue, completeJobBatchDelay, failJobBatchDelay). */
  preset?: {
    localQueue?: { size: number };
    completeJobBatchDelay?: number;
    failJobBatchDelay?: number;
  };
}

export interface PgBossWorkerOptions {
  /** `work()` calls on the queue per process: pg-boss 10's way to run fetch loops side by side. */
  workers: number;
  batchSize?: number;
  pollingIntervalSeconds?: number;
}

export interface PeerWorkerConfig {
  system: 'graphile-worker' | 'pg-boss';
  connectionString: string;
  name: string;
  graphile?: GraphileWorkerOptions;
  pgBoss?: PgBossWorkerOptions;
}

export interface PeerPayload {
  g: string;
  dueAt?: number;
  addedAt?: number;
}

interface GroupSamples {
  starts: number[];
  lags: number[];
  addLags: number[];
}

const config = childConfig<PeerWorkerConfig>();
const samples = new Map<string, GroupSamples>();

function record(payload: PeerPayload | null | undefined): void {
  const at = wallMs();
  const name = payload?.g ?? 'unknown';
  let group = samples.get(name);
  if (!group) samples.set(name, (group = { starts: [], lags: [], addLags: [] }));
  group.starts.push(at);
  if (typeof payload?.dueAt === 'number') group.lags.push(at - payload.dueAt);
  if (typeof payload?.addedAt === 'number') group.addLags.push(at - payload.addedAt);
}

/** The object without its undefined values (so the library's own default applies). */
function defined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

let stop: () => Promise<void> = async () => {};

if (config.system === 'graphile-worker') {
  const options = config.graphile ?? {};
  const quiet = new Logger(() => (level, message) => {
    if (level === 'error') process.stderr.write(`[graphile-worker] ${message}\n`);
  });
  const runner: Runner = await run({
    connectionString: config.connectionString,
    ...defined({
      concurrency: options.concurrency,
      pollInterval: options.pollInterval,
      maxPoolSize: options.maxPoolSize,
    }),
    ...(options.preset ? { preset: { worker: options.preset } } : {}),
    noHandleSignals: true,
    logger: quiet,
    taskList: { noop: async (payload) => void record(payload as PeerPayload) },
    crontab: '',
  });
  stop = () => runner.stop();
} else {
  const options = config.pgBoss ?? { workers: 1 };
  const boss = new PgBoss({ connectionString: config.connectionString, application_name: config.name });
  boss.on('error', (error) => process.stderr.write(`[pg-boss] ${String(error)}\n`));
  await boss.start();
  for (let i = 0; i < options.workers; i += 1) {
    await boss.work<PeerPayload>(
      'noop',
      defined({ batchSize: options.batchSize, pollingIntervalSeconds: options.pollingIntervalSeconds }),
      async (jobs) => {
        for (const job of jobs) record(job.data);
      },
    );
  }
  stop = () => boss.stop({ graceful: true, wait: true, timeout: 5_000 });
}

let stopping: Promise<void> | undefined;
function shutdown(): Promise<void> {
  stopping ??= (async () => {
    try {
      await stop();
    } catch (error) {
      process.stderr.write(`stop failed: ${String(error)}\n`);
    }
    process.exit(0);
  })();
  return stopping;
}

serveParent(
  (message) => {
    if (message.type === 'collect') {
      const group = String(message.group);
      const out = samples.get(group) ?? { starts: [], lags: [], addLags: [] };
      samples.delete(group);
      return { samples: out };
    }
    if (message.type === 'count') {
      return { count: samples.get(String(message.group))?.starts.length ?? 0 };
    }
    return {};
  },
  () => void shutdown(),
);
process.on('SIGTERM', () => void shutdown());
process.on('SIGINT', () => void shutdown());
sendToParent({ type: 'ready', at: wallMs(), pid: process.pid });
