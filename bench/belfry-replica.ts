/**
 * One Belfry replica for the benchmarks: a process that builds a scheduler through the public API,
 * registers the bench jobs, starts, and stops gracefully on SIGTERM/SIGINT (or when the orchestrator
 * goes away). Started by bench/run.ts and bench/failover.ts; not meant to be run by hand.
 *
 * Jobs:
 *   - `noop`: does nothing; records when its handler started (wall clock) against `data.dueAt` (the
 *     intended start the orchestrator stamped, as it does for the peers) or else the fire's scheduled
 *     time, and against `data.addedAt` (when the orchestrator asked for it).
 *   - `sleep` (`recover: true`): tells the orchestrator it started, then runs until released or aborted:
 *     the job the failover benchmark kills a replica under.
 */
import pino from 'pino';
import { createScheduler, type ClusterTimings } from '../src/scheduler.js';
import type { JobContext } from '../src/jobs/job.js';
import { childConfig, sendToParent, serveParent } from './support/children.js';
import { wallMs } from './support/time.js';

export interface ReplicaConfig {
  connectionString: string;
  schema: string;
  instanceName: string;
  /** Unset: the library's default (the bench's "defaults" column sets none of these). */
  concurrency?: number;
  batchSize?: number;
  maxIdleMs?: number;
  shutdownTimeoutMs?: number;
  timings?: Partial<ClusterTimings>;
  logLevel?: string;
}

interface GroupSamples {
  /** Handler start, wall ms. */
  starts: number[];
  /** Handler start minus the fire's scheduled time. */
  lags: number[];
  /** Handler start minus `data.addedAt` (when the orchestrator stamped the request). */
  addLags: number[];
}

const config = childConfig<ReplicaConfig>();
const samples = new Map<string, GroupSamples>();
let releaseSleepers = new AbortController();

class NoopJob {
  execute(ctx: JobContext<{ addedAt?: number; dueAt?: number } | null>): null {
    const at = wallMs();
    let group = samples.get(ctx.fire.group);
    if (!group) samples.set(ctx.fire.group, (group = { starts: [], lags: [], addLags: [] }));
    group.starts.push(at);
    // The intended start the orchestrator stamped (as for the peers), else the fire's scheduled time.
    const due = typeof ctx.data?.dueAt === 'number' ? ctx.data.dueAt : ctx.fire.scheduledAt.getTime();
    group.lags.push(at - due);
    if (typeof ctx.data?.addedAt === 'number') group.addLags.push(at - ctx.data.addedAt);
    return null;
  }
}

class SleepJob {
  async execute(ctx: JobContext): Promise<null> {
    sendToParent({
      type: 'sleep-started',
      at: wallMs(),
      fireId: ctx.fire.fireId,
      executionId: ctx.fire.executionId,
      attempt: ctx.fire.attempt,
      instanceName: config.instanceName,
    });
    const release = releaseSleepers.signal;
    await new Promise<void>((resolve) => {
      if (release.aborted || ctx.signal.aborted) return resolve();
      release.addEventListener('abort', () => resolve(), { once: true });
      ctx.signal.addEventListener('abort', () => resolve(), { once: true });
    });
    return null;
  }
}

const logger = pino(
  { level: config.logLevel ?? 'warn', base: { replica: config.instanceName } },
  pino.destination(2),
);
// Only the options the orchestrator set are passed, so an unset one is the library's own default.
const scheduler = createScheduler({
  connectionString: config.connectionString,
  schema: config.schema,
  instanceName: config.instanceName,
  ...(config.concurrency === undefined ? {} : { concurrency: config.concurrency }),
  ...(config.batchSize === undefined ? {} : { batchSize: config.batchSize }),
  ...(config.maxIdleMs === undefined ? {} : { maxIdleMs: config.maxIdleMs }),
  ...(config.shutdownTimeoutMs === undefined ? {} : { shutdownTimeoutMs: config.shutdownTimeoutMs }),
  ...(config.timings === undefined ? {} : { timings: config.timings }),
  logger,
});
scheduler.registerJob('noop', NoopJob);
scheduler.registerJob('sleep', SleepJob, { recover: true });

for (const event of [
  'leader:elected',
  'leader:lost',
  'instance:dead',
  'execution:recovered',
  'instance:fenced',
] as const) {
  scheduler.on(event, (payload) =>
    sendToParent({
      type: 'event',
      name: event,
      at: wallMs(),
      instanceName: config.instanceName,
      payload: JSON.parse(JSON.stringify(payload)),
    }),
  );
}

// Acquisitions that locked something, by size: written to the replica's log at exit (docs/performance.md).
const batches: number[] = [];
scheduler.on('acquisition:finished', (e) => {
  if (e.batchSize > 0) batches.push(e.batchSize);
});

let stopping: Promise<void> | undefined;
function shutdown(reason: string): Promise<void> {
  stopping ??= (async () => {
    sendToParent({ type: 'stopping', at: wallMs(), reason });
    try {
      await scheduler.stop();
    } catch (error) {
      logger.error({ err: error }, 'stop failed');
    }
    const fired = batches.reduce((sum, n) => sum + n, 0);
    process.stderr.write(
      `${JSON.stringify({ acquisitions: batches.length, locked: fired, meanBatch: Math.round(fired / Math.max(1, batches.length)) })}\n`,
    );
    process.exit(0);
  })();
  return stopping;
}

serveParent(
  (message) => {
    switch (message.type) {
      case 'collect': {
        const group = String(message.group);
        const out = samples.get(group) ?? { starts: [], lags: [], addLags: [] };
        samples.delete(group);
        return { samples: out };
      }
      case 'count':
        return { count: samples.get(String(message.group))?.starts.length ?? 0 };
      case 'release':
        releaseSleepers.abort();
        releaseSleepers = new AbortController();
        return {};
      case 'status':
        return {
          instanceId: scheduler.instanceId,
          isLeader: scheduler.isLeader,
          epoch: scheduler.leaderEpoch,
        };
      default:
        return {};
    }
  },
  () => void shutdown('orchestrator gone'),
);
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));

await scheduler.start();
sendToParent({ type: 'ready', at: wallMs(), instanceId: scheduler.instanceId, pid: process.pid });
