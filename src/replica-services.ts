/**
 * Builds one replica's services and wires their callbacks to each other; the Scheduler owns their order
 * (start, stop) and its public face.
 *
 * The graph has cycles by nature (the pool wakes the acquirer when a slot frees, the acquirer feeds the
 * pool; the membership keeps the identity every writer reads), so the services reach each other through
 * callbacks that run only after everything is built.
 */
import type { Logger } from 'pino';
import { ClusterMembership, type ClusterTimings } from './cluster/cluster-membership.js';
import { InstanceIdentity } from './cluster/instance-identity.js';
import { CalendarCache } from './engine/calendar-cache.js';
import { CompletionWriter } from './engine/completion-writer.js';
import { ExecutorPool } from './engine/executor-pool.js';
import type { SchedulerEventBus } from './events/scheduler-events.js';
import { TriggerAcquirer } from './engine/trigger-acquirer.js';
import type { ServiceDefinition } from './hosted/hosted-service.js';
import { ServiceHost } from './hosted/service-host.js';
import type { ServiceMetrics } from './hosted/service-metrics.js';
import { lockNamespace } from './store/lock-keys.js';
import { SERVICES_NOTIFY } from './store/service-store.js';
import type { JobRegistry } from './jobs/job-registry.js';
import type { ListenerRegistry } from './listeners/listener-registry.js';
import type { ExecutionTracing } from './observability/execution-tracing.js';
import { DEFAULT_CONCURRENCY, type SchedulerOptions } from './scheduler-options.js';
import { LoopService } from './service/loop-service.js';
import type { Executor } from './store/executor.js';
import { InstanceFencedError } from './store/instance-store.js';
import { upstreamsOf } from './store/execution-store.js';
import { FIRED_NOW_NOTIFY } from './store/fire-now-store.js';
import { CANCEL_NOTICE } from './store/operation-store.js';
import type { Clock } from './time/clock.js';
import { compileSchedule } from './time/schedule.js';

export interface ReplicaServicesOptions {
  options: SchedulerOptions;
  executor: Executor;
  sessionConnectionString: string;
  instanceName: string;
  version: string;
  timings: ClusterTimings;
  clock: Clock;
  logger: Logger;
  events: SchedulerEventBus;
  registry: JobRegistry;
  listeners: ListenerRegistry;
  tracing: ExecutionTracing;
  /** The lease is only bid for while this says the scheduler runs. */
  isRunning: () => boolean;
  /** A loop's queries failed for lack of a connection (false), or succeed again (true). */
  onDatabaseReachable: (reachable: boolean) => void;
  /** Long-running services registered on this replica, and what places them. */
  services: () => ServiceDefinition[];
  labels: Record<string, string>;
  serviceMetrics?: ServiceMetrics;
}

export interface ReplicaServices {
  identity: InstanceIdentity;
  membership: ClusterMembership;
  pool: ExecutorPool;
  completions: CompletionWriter;
  acquirer: TriggerAcquirer;
  acquireLoop: LoopService;
  calendars: CalendarCache;
  serviceHost: ServiceHost;
}

export function buildReplicaServices(wiring: ReplicaServicesOptions): ReplicaServices {
  const { options, executor, timings, clock, logger: log, events } = wiring;
  const identity = new InstanceIdentity({
    clock,
    deadAfterMs: timings.deadAfterMs,
    sessionGraceMs: timings.sessionGraceMs,
    onUnknown: () => membership.verify(),
  });
  const completions = new CompletionWriter({
    executor,
    instanceId: () => membership.instanceId,
    clock,
    logger: log.child({ service: 'completions' }),
    onFlushed: (hadRetries) => hadRetries && acquireLoop.wake(),
    onFenced: () => membership.verify(),
  });
  const pool = new ExecutorPool({
    slots: options.concurrency ?? DEFAULT_CONCURRENCY,
    registry: wiring.registry,
    completions,
    identity,
    events,
    clock,
    logger: log,
    instanceId: () => membership.instanceId,
    onSlotFreed: () => acquireLoop.wake(),
    listeners: wiring.listeners,
    tracing: wiring.tracing,
    upstreamsOf: (fireId, scheduledAt) => upstreamsOf(executor, { fireId, scheduledAt }),
  });
  const calendars = new CalendarCache({ executor, onReloaded: () => acquirer.forgetSchedules() });
  const acquirer = new TriggerAcquirer({
    executor,
    pool,
    events,
    logger: log.child({ service: 'acquirer' }),
    instanceId: () => membership.instanceId,
    jobNames: () => wiring.registry.names(),
    batchSize: options.batchSize ?? 500,
    maxIdleMs: options.maxIdleMs ?? 10_000,
    lookaheadMs: options.fireAheadMs ?? 20,
    planLimits: options.planLimits,
    compile: options.compileSchedule ?? ((spec) => compileSchedule(spec, { calendars: calendars.resolver })),
    syncCalendars: (stamp) => calendars.sync(stamp),
    tracing: wiring.tracing,
    clock,
  });
  // Retry a failing tick quickly (capped at one heartbeat): after a database restart a replica must be
  // back, checked in and holding its session lock before the leader's session grace runs out.
  const errorBackoff = { initialMs: 100, maxMs: timings.heartbeatIntervalMs };
  const loop = (name: string, tick: (signal: AbortSignal) => Promise<number>) =>
    new LoopService({
      name,
      tick,
      errorBackoff,
      clock,
      logger: log.child({ service: name }),
      onError: (error, kind) => {
        if (error instanceof InstanceFencedError) {
          // Not an outage: this instance was declared dead. The membership confirms and re-registers.
          membership.verify();
        } else if (kind === 'connection') {
          wiring.onDatabaseReachable(false);
          events.emit('database:unavailable', { service: name, error });
        } else {
          events.emit('scheduler:error', { service: name, error });
        }
      },
      onRecovered: () => {
        wiring.onDatabaseReachable(true);
        events.emit('database:available', { service: name });
      },
    });
  const acquireLoop = loop('acquirer', async () => {
    await calendars.reloadIfStale();
    return (await acquirer.tick()).waitMs;
  });
  const membership = new ClusterMembership({
    executor,
    identity,
    sessionConnectionString: wiring.sessionConnectionString,
    instanceName: wiring.instanceName,
    version: wiring.version,
    timings,
    historyRetentionMs: options.historyRetentionMs ?? 90 * 86_400_000,
    createHistoryPartitions: options.createHistoryPartitions ?? true,
    clock,
    logger: log,
    events,
    loop,
    isRunning: wiring.isRunning,
    onChange: (payload) => {
      // `belfry cancel` (operations/execution-operations.ts): abort the attempt if it runs here.
      if (payload.startsWith(CANCEL_NOTICE)) return void pool.cancel(payload.slice(CANCEL_NOTICE.length));
      if (payload === SERVICES_NOTIFY) return serviceHost.notified();
      // Any definition change may have touched a calendar; reload them before the next acquisition.
      if (payload === 'triggers' || payload === 'calendars') calendars.markStale();
      else if (payload === FIRED_NOW_NOTIFY) acquirer.pendingNotified();
      acquireLoop.wake();
    },
    // NOTIFYs sent while the session was down are lost: re-read what they would have said (calendars,
    // and with them every compiled schedule; job settings and triggers are read at each acquisition).
    onSessionRestored: () => {
      calendars.markStale();
      acquireLoop.wake();
      serviceHost.sessionRestored();
    },
    onFenced: (reason) => {
      pool.abortAll(reason);
      serviceHost.fenced();
    },
    onRecovered: () => acquireLoop.wake(),
    onCheckedIn: () => serviceHost.beat(),
  });
  const serviceHost = new ServiceHost({
    executor,
    definitions: wiring.services,
    labels: wiring.labels,
    instanceId: () => membership.instanceId,
    timings,
    lockNamespace: lockNamespace(executor.schema),
    clock,
    logger: log.child({ service: 'services' }),
    loop,
    metrics: wiring.serviceMetrics,
    onRunStarted: (shard) => events.emit('service:started', shard),
    onRunEnded: (shard) => events.emit('service:stopped', shard),
  });
  // Peers may take a session-less holder's shards after the grace: stop them the moment the session goes.
  events.on('database:unavailable', (e) => e.service === 'session' && serviceHost.sessionLost());
  return { identity, membership, pool, completions, acquirer, acquireLoop, calendars, serviceHost };
}
