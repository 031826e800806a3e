/**
 * A worker process of a peer system (graphile-worker or pg-boss) for the comparison in bench/run.ts.
 * Its one task, `noop`, records when its handler started (wall clock) and the lag against the time the
 * orchestrator put in the payload: `runAt` (the instant the job was due), `addedAt` (when it was
 * enqueued) or, for cron, the scheduled minute. Nothing is written to the database per job, so the
 * measurement adds no load to the system measured.
 */
import { Logger, run, type Runner } from 'graphile-worker';
import PgBoss from 'pg-boss';
import { childConfig, sendToParent, serveParent } from './support/children.js';
import { wallMs } from './support/time.js';

export interface PeerWorkerConfig {
  system: 'graphile-worker' | 'pg-boss';
  connectionString: string;
  name: string;
  graphile?: { concurrency: number; pollInterval: number; crontab?: string };
  pgBoss?: {
    queues: string[];
    batchSize: number;
    pollingIntervalSeconds: number;
    schedule: boolean;
    cronMonitorIntervalSeconds?: number;
    cronWorkerIntervalSeconds?: number;
  };
}

export interface PeerPayload {
  g: string;
  runAt?: number;
  addedAt?: number;
  /** Added by graphile-worker to jobs its crontab created. */
  _cron?: { ts: string };
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
  const due = payload?._cron ? Date.parse(payload._cron.ts) : payload?.runAt;
  if (typeof due === 'number') group.lags.push(at - due);
  if (typeof payload?.addedAt === 'number') group.addLags.push(at - payload.addedAt);
}

let stop: () => Promise<void> = async () => {};

if (config.system === 'graphile-worker') {
  const options = config.graphile!;
  const quiet = new Logger(() => (level, message) => {
    if (level === 'error') process.stderr.write(`[graphile-worker] ${message}\n`);
  });
  const runner: Runner = await run({
    connectionString: config.connectionString,
    concurrency: options.concurrency,
    pollInterval: options.pollInterval,
    noHandleSignals: true,
    logger: quiet,
    taskList: { noop: async (payload) => void record(payload as PeerPayload) },
    crontab: options.crontab ?? '',
  });
  stop = () => runner.stop();
} else {
  const options = config.pgBoss!;
  const boss = new PgBoss({
    connectionString: config.connectionString,
    application_name: config.name,
    schedule: options.schedule,
    ...(options.cronMonitorIntervalSeconds
      ? { cronMonitorIntervalSeconds: options.cronMonitorIntervalSeconds }
      : {}),
    ...(options.cronWorkerIntervalSeconds
      ? { cronWorkerIntervalSeconds: options.cronWorkerIntervalSeconds }
      : {}),
  });
  boss.on('error', (error) => process.stderr.write(`[pg-boss] ${String(error)}\n`));
  await boss.start();
  for (const queue of options.queues) {
    await boss.work<PeerPayload>(
      queue,
      { batchSize: options.batchSize, pollingIntervalSeconds: options.pollingIntervalSeconds },
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
