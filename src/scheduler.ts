/**
 * The scheduler: one replica of a Belfry cluster. Wires the services together and owns their order.
 *
 * Start: migrate → open the session (lock, LISTEN) → register the instance → publish code-registered
 * jobs → start the membership loop (check-ins, leader lease) → start the acquirer.
 * Stop (graceful, soft then hard): stop acquiring → let running executions finish until the deadline,
 * abort the rest (left to recovery) → flush outcomes → stop leader services → resign the lease (NOTIFY,
 * so a peer takes over at once) → check out → close the session → close the pool last.
 *
 * Identity: the instance id is a fencing token shared by the membership (which keeps it current), the pool
 * (which starts nothing under a dead one) and the writers. A write refused under a dead id
 * (InstanceFencedError, from any loop or the completion writer) makes the membership check in at once;
 * a check-in that finds the instance dead aborts what runs here and registers again under a new id.
 *
 * Observability: listeners (src/listeners/) are registered with addJobListener/addTriggerListener/
 * addSchedulerListener; the built-in metrics are one of them. Spans and metrics go through
 * `@opentelemetry/api` (global providers unless `tracerProvider`/`meterProvider` are given).
 */
import { hostname } from 'node:os';
import pino, { type Logger } from 'pino';
import {
  DEFAULT_TIMINGS,
  type ClusterMembership,
  type ClusterTimings,
} from './cluster/cluster-membership.js';
import type { CompletionWriter } from './engine/completion-writer.js';
import type { ExecutorPool } from './engine/executor-pool.js';
import {
  SchedulerEventBus,
  type SchedulerEventName,
  type SchedulerEvents,
} from './events/scheduler-events.js';
import type { JobClass, JobOptions } from './jobs/job.js';
import { JobRegistry } from './jobs/job-registry.js';
import type { LoopService } from './service/loop-service.js';
import { withinDeadline } from './service/deadline.js';
import { openDatabase, type BelfryDatabase } from './store/database.js';
import { publishCodeJob, type PauseTarget } from './store/definition-store.js';
import type { Executor } from './store/executor.js';
import { fireNowMany, scheduleOneOff } from './operations/fire-operations.js';
import { setPaused } from './operations/pause-operations.js';
import {
  cancelExecution,
  discardDeadLetter,
  listDeadLetters,
  rerunFire,
  retryDeadLetters,
  retryExecution,
  type BulkRetryResult,
  type CancelResult,
  type DeadLetter,
  type DeadLetterFilter,
  type RequestedAttempt,
} from './operations/execution-operations.js';
import { backfill, type BackfillRequest, type BackfillResult } from './operations/backfill-operations.js';
import { DeadLetterCount } from './operations/dead-letter-count.js';
import { migrate, migrationsCurrent } from './store/migrator.js';
import { systemClock, type Clock } from './time/clock.js';
import { attachBuiltinMetrics, isNoopMeterProvider } from './listeners/builtin/metrics-listener.js';
import type { JobListener, SchedulerListener, TriggerListener } from './listeners/listener.js';
import type { ListenerMatcher } from './listeners/listener-matcher.js';
import { ListenerRegistry } from './listeners/listener-registry.js';
import { jobRecordFromOptions } from './jobs/job-record.js';
import { bridgeSchedulerListeners } from './listeners/scheduler-listener-bridge.js';
import { ExecutionTracing } from './observability/execution-tracing.js';
import { buildReplicaServices } from './replica-services.js';
import { checkDatabaseAtStart } from './cluster/database-checks.js';
import type { ReplicationGuarantee } from './store/replication-guarantee.js';
import { BelfryError } from './errors/belfry-error.js';
import {
  defineService,
  ServiceRegistryError,
  type HostedServiceClass,
  type ServiceDefinition,
  type ServiceOptions,
} from './hosted/hosted-service.js';
import type { LocalShardStatus, ServiceHost } from './hosted/service-host.js';
import { ServiceMetrics } from './hosted/service-metrics.js';
import { setServicePaused } from './store/service-store.js';

export const BELFRY_VERSION = '0.1.0';

export { DEFAULT_TIMINGS, type ClusterTimings };

import { DEFAULT_CONCURRENCY, type SchedulerHealth, type SchedulerOptions } from './scheduler-options.js';
export type { SchedulerOptions, SchedulerHealth };

type State = 'new' | 'starting' | 'running' | 'stopping' | 'stopped';

/** Never below this: a replica under load (a long GC pause) must not lose every open transaction. */
const MIN_IDLE_IN_TRANSACTION_MS = 5_000;

export class Scheduler {
  readonly events: SchedulerEventBus;
  readonly registry = new JobRegistry();
  readonly logger: Logger;
  readonly database: BelfryDatabase;
  readonly executor: Executor;
  readonly instanceName: string;
  #state: State = 'new';
  #starting: Promise<void> | undefined;
  #stopping: Promise<void> | undefined;
  readonly #ownsDatabase: boolean;
  readonly #clock: Clock;
  readonly #membership: ClusterMembership;
  readonly #pool: ExecutorPool;
  readonly #completions: CompletionWriter;
  readonly #acquireLoop: LoopService;
  readonly #services = new Map<string, ServiceDefinition>();
  readonly #serviceHost: ServiceHost;
  #databaseReachable = true;
  #replication: ReplicationGuarantee | undefined;
  readonly #listeners: ListenerRegistry;

  constructor(private readonly options: SchedulerOptions) {
    this.#clock = options.clock ?? systemClock;
    this.logger = options.logger ?? pino({ level: 'silent' });
    this.events = new SchedulerEventBus((event, error) =>
      this.logger.error({ err: error, event }, 'event handler failed'),
    );
    this.instanceName = options.instanceName ?? `${hostname()}-${process.pid}`;
    if (options.database) {
      this.database = options.database;
      this.#ownsDatabase = false;
    } else {
      if (!options.connectionString) throw new Error('createScheduler needs connectionString (or database)');
      this.database = openDatabase({
        connectionString: options.connectionString,
        schema: options.schema,
        maxConnections: Math.max(4, Math.min(20, (options.concurrency ?? DEFAULT_CONCURRENCY) + 3)),
        // A replica frozen mid-transaction holds its trigger rows (peers skip them: those triggers do not
        // fire) and its instance row (declare-dead skips a locked one). End such a transaction when the
        // replica could be declared dead anyway: a live replica never idles that long inside one of its
        // short transactions, and a replica that cannot answer for deadAfterMs is treated as dead.
        idleInTransactionTimeoutMs: Math.max(
          MIN_IDLE_IN_TRANSACTION_MS,
          options.timings?.deadAfterMs ?? DEFAULT_TIMINGS.deadAfterMs,
        ),
        applicationName: `belfry:${this.instanceName}`,
        onIdleError: (error) => this.logger.warn({ err: error }, 'idle database connection failed'),
      });
      this.#ownsDatabase = true;
    }
    this.executor = { db: this.database.db, schema: this.database.schema };
    const log = this.logger;
    this.#listeners = new ListenerRegistry({
      clock: this.#clock,
      timeoutMs: options.listenerTimeoutMs ?? 5_000,
      onFailure: (failure) => {
        log.warn(
          { listener: failure.listener, hook: failure.hook, timedOut: failure.timedOut, err: failure.error },
          'listener failed',
        );
        this.events.emit('listener:failed', failure);
      },
    });
    const services = buildReplicaServices({
      options,
      executor: this.executor,
      sessionConnectionString: options.sessionConnectionString ?? this.database.connectionString,
      instanceName: this.instanceName,
      version: BELFRY_VERSION,
      timings: { ...DEFAULT_TIMINGS, ...options.timings },
      clock: this.#clock,
      logger: log,
      events: this.events,
      registry: this.registry,
      listeners: this.#listeners,
      tracing: new ExecutionTracing({ tracerProvider: options.tracerProvider, version: BELFRY_VERSION }),
      isRunning: () => this.#state === 'running',
      onDatabaseReachable: (reachable) => (this.#databaseReachable = reachable),
      services: () => [...this.#services.values()],
      labels: options.labels ?? {},
      serviceMetrics: isNoopMeterProvider(options.meterProvider)
        ? undefined
        : new ServiceMetrics({ meterProvider: options.meterProvider, version: BELFRY_VERSION }),
    });
    this.#serviceHost = services.serviceHost;
    this.#membership = services.membership;
    this.#pool = services.pool;
    this.#completions = services.completions;
    this.#acquireLoop = services.acquireLoop;
    bridgeSchedulerListeners(this.events, this.#listeners);
    if (!isNoopMeterProvider(options.meterProvider)) {
      const deadLetters = new DeadLetterCount({ executor: this.executor, clock: this.#clock });
      attachBuiltinMetrics(this.events, this.#listeners, {
        meterProvider: options.meterProvider,
        version: BELFRY_VERSION,
        triggerLabels: options.metrics?.triggerLabels,
        inFlight: () => this.#pool.inFlight,
        isLeader: () => this.#membership.isLeader,
        liveInstances: () => this.#membership.liveInstances,
        deadLetters: () => deadLetters.current(),
      });
    }
  }

  /**
   * Adds a job listener, for the jobs the matcher selects (`name`: job name; `group`: trigger group;
   * exact or glob; a list: any). Names are unique among job listeners. Returns the scheduler.
   */
  addJobListener(listener: JobListener, matcher?: ListenerMatcher | readonly ListenerMatcher[]): this {
    this.#listeners.addJobListener(listener, matcher);
    return this;
  }

  removeJobListener(name: string): boolean {
    return this.#listeners.removeJobListener(name);
  }

  /** Adds a trigger listener (`name`: trigger name; `group`: trigger group; exact or glob). A trigger listener may veto. */
  addTriggerListener(
    listener: TriggerListener,
    matcher?: ListenerMatcher | readonly ListenerMatcher[],
  ): this {
    this.#listeners.addTriggerListener(listener, matcher);
    return this;
  }

  removeTriggerListener(name: string): boolean {
    return this.#listeners.removeTriggerListener(name);
  }

  addSchedulerListener(listener: SchedulerListener): this {
    this.#listeners.addSchedulerListener(listener);
    return this;
  }

  removeSchedulerListener(name: string): boolean {
    return this.#listeners.removeSchedulerListener(name);
  }

  /** The names of the registered listeners, built-ins included. */
  get listenerNames(): { job: string[]; trigger: string[]; scheduler: string[] } {
    return {
      job: this.#listeners.jobListenerNames,
      trigger: this.#listeners.triggerListenerNames,
      scheduler: this.#listeners.schedulerListenerNames,
    };
  }

  /** Execution attempts running on this replica now. */
  get executionsInFlight(): number {
    return this.#pool.inFlight;
  }

  get instanceId(): string {
    return this.#membership.instanceId;
  }

  /** Leading is holding a live lease's epoch (the elector gives none while the lease is not valid). */
  get isLeader(): boolean {
    return this.leaderEpoch !== null;
  }

  get leaderEpoch(): number | null {
    return this.#membership.epoch;
  }

  get state(): State {
    return this.#state;
  }

  on<E extends SchedulerEventName>(event: E, handler: (payload: SchedulerEvents[E]) => void): () => void {
    return this.events.on(event, handler);
  }

  /** Registers a job class under a name. Call before start(); YAML jobs are registered by the config loader. */
  registerJob<Data>(name: string, jobClass: JobClass<Data>, options: JobOptions = {}): this {
    this.registry.register({
      name,
      jobClass: jobClass as unknown as JobClass<never>,
      options,
      source: 'code',
    });
    return this;
  }

  /**
   * Registers a long-running service (docs/services.md): each of its shards runs on exactly one replica
   * at a time, under a lease whose epoch fences its checkpoint. Call before start().
   */
  registerService<Data extends Record<string, unknown>, Checkpoint = unknown>(
    name: string,
    serviceClass: HostedServiceClass<Data, Checkpoint>,
    options: ServiceOptions<Data> = {},
  ): this {
    if (this.#state !== 'new')
      throw new ServiceRegistryError(`service ${name}: register services before start()`);
    if (this.#services.has(name)) throw new ServiceRegistryError(`service ${name} is already registered`);
    this.#services.set(
      name,
      defineService(name, serviceClass as unknown as HostedServiceClass<never, never>, options),
    );
    return this;
  }

  /** The names of the registered services. */
  get serviceNames(): string[] {
    return [...this.#services.keys()];
  }

  /** The service shards this replica runs now. */
  serviceStatus(): LocalShardStatus[] {
    return this.#serviceHost.status();
  }

  /** Pauses a service on every replica: its holders stop their runs and release. Unknown: UNKNOWN_SERVICE. */
  async pauseService(name: string): Promise<void> {
    if (!(await setServicePaused(this.executor, { name, paused: true }))) throw unknownService(name);
  }

  async resumeService(name: string): Promise<void> {
    if (!(await setServicePaused(this.executor, { name, paused: false }))) throw unknownService(name);
  }

  start(): Promise<void> {
    this.#starting ??= this.#start();
    return this.#starting;
  }

  async #start(): Promise<void> {
    this.#state = 'starting';
    if (this.options.migrate !== false) await migrate(this.database.pool, this.database.schema);
    // Refuses a session URL behind a transaction pooler; logs the replication guarantee.
    this.#replication = await checkDatabaseAtStart({
      executor: this.executor,
      poolUrl: this.database.connectionString,
      sessionUrl: this.options.sessionConnectionString ?? this.database.connectionString,
      logger: this.logger,
    });
    await this.#membership.join();
    for (const job of this.registry.all()) {
      if (job.source !== 'code') continue;
      await publishCodeJob(this.executor, jobRecordFromOptions(job.name, job.options, 'code'));
    }
    this.#state = 'running';
    await this.#membership.start();
    await this.#acquireLoop.start();
    await this.#serviceHost.start();
    this.events.emit('scheduler:started', { instanceId: this.instanceId });
    this.logger.info(
      { instanceId: this.instanceId, name: this.instanceName, jobs: this.registry.names() },
      'scheduler started',
    );
  }

  /** Fires a job once, now (a one-off trigger, so it is recorded and fired exactly like any other). */
  async fireNow(job: string, data: Record<string, unknown> | null = null): Promise<string> {
    return this.scheduleAt(job, null, data);
  }

  /**
   * `fireNow` for many runs of one job: one one-off per data item, written in one statement (a backlog
   * of N costs one round trip, not N). Returns the one-off triggers' names, in the order of `data`.
   */
  async fireNowMany(job: string, data: readonly (Record<string, unknown> | null)[]): Promise<string[]> {
    return fireNowMany(this.executor, { job, data });
  }

  /**
   * Fires a job once at an instant (null: now, by the database clock). Returns the one-off trigger's name.
   * An unknown job is an UnknownNameError, as in the API and the CLI (src/operations/ serves all three).
   */
  async scheduleAt(
    job: string,
    at: Date | null,
    data: Record<string, unknown> | null = null,
  ): Promise<string> {
    return scheduleOneOff(this.executor, { job, at, data });
  }

  /**
   * Operator actions (docs/continuations.md), the same operations as the CLI and the admin API;
   * `requestedBy` is recorded with each (default `library`).
   */
  retry(executionId: string, requestedBy = 'library'): Promise<RequestedAttempt> {
    return retryExecution(this.executor, { executionId, requestedBy });
  }

  rerun(fireId: string, requestedBy = 'library'): Promise<RequestedAttempt> {
    return rerunFire(this.executor, { fireId, requestedBy });
  }

  cancel(executionId: string, requestedBy = 'library'): Promise<CancelResult> {
    return cancelExecution(this.executor, { executionId, requestedBy });
  }

  deadLetters(filter: Partial<DeadLetterFilter> = {}): Promise<DeadLetter[]> {
    return listDeadLetters(this.executor, { limit: 100, ...filter });
  }

  /** A dry run unless `confirm`. */
  retryDeadLetters(
    filter: Partial<DeadLetterFilter> & { confirm?: boolean },
    requestedBy = 'library',
  ): Promise<BulkRetryResult> {
    const { confirm = false, ...rest } = filter;
    return retryDeadLetters(this.executor, { filter: { limit: 100, ...rest }, confirm, requestedBy });
  }

  discardDeadLetter(fireId: string, requestedBy = 'library'): Promise<{ fireId: string; discarded: true }> {
    return discardDeadLetter(this.executor, { fireId, requestedBy });
  }

  backfill(request: BackfillRequest): Promise<BackfillResult> {
    return backfill(this.executor, { instanceId: this.instanceId, ...request });
  }

  /** Returns how many triggers changed state. An unknown trigger, job or group is an UnknownNameError. */
  async pause(target: PauseTarget): Promise<number> {
    const count = await setPaused(this.executor, { target, paused: true });
    this.events.emit('trigger:paused', { target: { ...target }, count });
    return count;
  }

  async resume(target: PauseTarget): Promise<number> {
    const count = await setPaused(this.executor, { target, paused: false });
    this.events.emit('trigger:resumed', { target: { ...target }, count });
    return count;
  }

  /**
   * `probe.migrationsCurrent` replaces the query on the scheduler's pool: the admin server's readiness
   * probe runs it on its own connection, so a flood of /readyz never competes with check-ins.
   */
  async health(probe: { migrationsCurrent?: () => Promise<boolean> } = {}): Promise<SchedulerHealth> {
    let reachable = false;
    let current = false;
    try {
      current = await (probe.migrationsCurrent?.() ??
        migrationsCurrent(this.database.pool, this.database.schema));
      reachable = true;
    } catch {
      reachable = false;
    }
    const shuttingDown = this.#state === 'stopping' || this.#state === 'stopped';
    return {
      alive: this.#state !== 'stopped',
      ready:
        reachable &&
        current &&
        this.#state === 'running' &&
        this.#databaseReachable &&
        this.#membership.sessionConnected,
      databaseReachable: reachable,
      migrationsCurrent: current,
      shuttingDown,
      isLeader: this.isLeader,
      instanceId: this.instanceId,
      services: this.#serviceHost.status(),
      ...(this.#replication ? { replication: this.#replication } : {}),
    };
  }

  /** What the database's replication guarantees across a failover, as read at start (undefined before). */
  get replication(): ReplicationGuarantee | undefined {
    return this.#replication;
  }

  stop(options: { timeoutMs?: number } = {}): Promise<void> {
    this.#stopping ??= this.#stop(options.timeoutMs ?? this.options.shutdownTimeoutMs ?? 30_000);
    return this.#stopping;
  }

  async #stop(timeoutMs: number): Promise<void> {
    if (this.#state === 'new') {
      this.#state = 'stopped';
      if (this.#ownsDatabase) await this.database.destroy();
      return;
    }
    await this.#starting?.catch(() => {});
    this.#state = 'stopping';
    this.events.emit('scheduler:stopping', { instanceId: this.instanceId });
    await this.#listeners.notifyScheduler('schedulerShuttingDown', { instanceId: this.instanceId });
    this.logger.info({ timeoutMs }, 'stopping: no new fires; waiting for running executions');
    await this.#acquireLoop.stop();
    // Services stop beside the drain: each run gets its stopTimeout, then its lease is released (NOTIFY).
    const [{ aborted }] = await Promise.all([this.#pool.drain(timeoutMs), this.#serviceHost.stop()]);
    if (aborted > 0)
      this.logger.warn({ aborted }, 'executions cut off at the shutdown deadline; left to recovery');
    await this.#leave(checkOutBudgetMs(timeoutMs));
    this.#state = 'stopped';
    this.events.emit('scheduler:stopped', { instanceId: this.instanceId });
    this.logger.info('scheduler stopped');
  }

  /**
   * After the drain: record the outcomes, resign, check out, close the pool, all within `budgetMs`, so a
   * database that stopped answering cannot hold stop() past the shutdown timeout. What is not written by
   * then is left to the leader's recovery, as after a crash.
   */
  async #leave(budgetMs: number): Promise<void> {
    const clock = this.#clock;
    const deadline = clock.monotonicMs() + budgetMs;
    const remaining = () => Math.max(0, deadline - clock.monotonicMs());
    if ((await withinDeadline(clock, remaining(), () => this.#completions.flushAll())) === 'timed out') {
      this.logger.warn({ outcomes: this.#completions.pendingCount }, 'outcomes not recorded by the deadline');
      this.#completions.abandon();
    }
    await this.#membership.leave({ timeoutMs: remaining() });
    await this.#listeners.settle();
    if (!this.#ownsDatabase) return;
    // pg's pool.end() waits for every checked-out connection, one stuck on a frozen server included.
    const closed = await withinDeadline(clock, Math.max(remaining(), 500), () => this.database.destroy());
    if (closed === 'timed out') this.logger.warn('database connections did not close by the deadline');
  }
}

/**
 * What stop() allows after the drain for recording outcomes and leaving the cluster: a fifth of the
 * shutdown timeout, at least 1 s and at most 5 s (the same reserve `belfry start` keeps out of the drain).
 */
export function checkOutBudgetMs(timeoutMs: number): number {
  return Math.min(5_000, Math.max(1_000, timeoutMs / 5));
}

function unknownService(name: string): BelfryError {
  return new BelfryError('BELFRY_ERR_UNKNOWN_SERVICE', `no service is named ${JSON.stringify(name)}`);
}

export function createScheduler(options: SchedulerOptions): Scheduler {
  return new Scheduler(options);
}
