/**
 * This replica's membership in the cluster: its instance row, its session (LISTEN + advisory lock), its
 * check-ins, its bid for the leader lease, and the leader-only services that run while it leads.
 *
 * States:  new --join()--> joined --start()--> running --leave()--> left
 *                               ^                   |
 *                               +--- fenced --------+  (declared dead: a new instance id, joined again)
 *
 * One transaction per heartbeat does the check-in and the lease bid or renewal together, so an idle
 * replica costs half a transaction a second. A check-in that finds this instance no longer active means
 * the leader declared it dead and recovered its work: the replica aborts what it runs (late outcomes
 * could not be recorded anyway) and joins again under a new id. The instance id is the fencing token
 * (instance-identity.ts): the dead one is never used again, and nothing starts under it once the
 * replica knows. A guarded write that was refused (InstanceFencedError) asks for a check-in at once
 * through `verify()`, so the replica learns of its death from whichever comes first.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { SchedulerEventBus } from '../events/scheduler-events.js';
import { withinDeadline } from '../service/deadline.js';
import type { LoopService } from '../service/loop-service.js';
import { classifyDatabaseError } from '../store/errors.js';
import { inTransaction, type Executor } from '../store/executor.js';
import {
  checkInInstance,
  checkOutInstance,
  nextInstanceLockKey,
  registerInstance,
} from '../store/instance-store.js';
import { acquireOrRenewLease, resignLease } from '../store/leader-store.js';
import { lockNamespace } from '../store/lock-keys.js';
import { limitTransactionTime } from '../store/session-store.js';
import { countActiveInstances } from '../store/trace-store.js';
import type { Clock } from '../time/clock.js';
import type { InstanceIdentity } from './instance-identity.js';
import { LeaderElector, type LeadershipChange } from './leader-elector.js';
import { LeaderServices } from './leader-services.js';
import { SessionConnection } from './session-connection.js';

export interface ClusterTimings {
  /** How often a replica checks in (and the leader renews its lease). */
  heartbeatIntervalMs: number;
  leaseTtlMs: number;
  /** A replica whose session has been gone this long (and has not checked in meanwhile) is dead; absorbs reconnects. */
  sessionGraceMs: number;
  /** A replica that has not checked in for this long is dead even if its session is open (stalled). */
  deadAfterMs: number;
  /** How often the leader looks for dead replicas. */
  recoveryIntervalMs: number;
}

export const DEFAULT_TIMINGS: ClusterTimings = {
  heartbeatIntervalMs: 2_000,
  leaseTtlMs: 6_000,
  sessionGraceMs: 2_000,
  deadAfterMs: 10_000,
  recoveryIntervalMs: 1_000,
};

/** leave()'s default bound, when the caller gives none. */
export const LEAVE_TIMEOUT_MS = 5_000;
/** Closing the session gets at least this long, even when resigning used up the time. */
const SESSION_CLOSE_MIN_MS = 500;

export interface ClusterMembershipOptions {
  executor: Executor;
  /** The instance id and what this replica knows of its liveness; the membership keeps it current. */
  identity: InstanceIdentity;
  sessionConnectionString: string;
  instanceName: string;
  version: string;
  timings: ClusterTimings;
  historyRetentionMs: number;
  createHistoryPartitions: boolean;
  clock: Clock;
  logger: Logger;
  events: SchedulerEventBus;
  loop: (name: string, tick: () => Promise<number>) => LoopService;
  /** The lease is only bid for while this says the scheduler runs. */
  isRunning: () => boolean;
  /** A NOTIFY that is not about the lease (definitions, pending work). */
  onChange: (payload: string) => void;
  /** The session came back after a loss. */
  onSessionRestored: () => void;
  /** This instance was declared dead: abort the executions it still runs. */
  onFenced: (reason: string) => void;
  /** The leader re-dispatched executions. */
  onRecovered: () => void;
  /** After each successful check-in: the beat on which the service host renews its leases. */
  onCheckedIn?: () => void;
}

export class ClusterMembership {
  readonly #identity: InstanceIdentity;
  readonly #namespace: number;
  readonly #elector: LeaderElector;
  readonly #session: SessionConnection;
  readonly #loop: LoopService;
  readonly #leaderServices: LeaderServices;
  #liveInstances: number | null = null;
  #liveInstancesWanted = false;
  /** A check-in failed since the last one that succeeded (the database was unreachable). */
  #checkInFailed = false;

  constructor(private readonly options: ClusterMembershipOptions) {
    const { executor, timings, logger } = options;
    this.#identity = options.identity;
    this.#namespace = lockNamespace(executor.schema);
    this.#elector = new LeaderElector(options.clock, timings.leaseTtlMs);
    this.#session = new SessionConnection({
      connectionString: options.sessionConnectionString,
      schema: executor.schema,
      lockNamespace: this.#namespace,
      clock: options.clock,
      logger: logger.child({ service: 'session' }),
      applicationName: `belfry-session:${options.instanceName}`,
      onNotify: (payload) => (payload === 'leader' ? this.#loop.wake() : options.onChange(payload)),
      onLost: (error) => {
        // The instance's lock may be free from now on: the leader's crash rule applies to it again.
        this.#identity.sessionDown();
        options.events.emit('database:unavailable', { service: 'session', error });
      },
      onReconnected: () => {
        this.#identity.sessionUp(options.clock.monotonicMs());
        options.events.emit('database:available', { service: 'session' });
        this.#loop.wake();
        options.onSessionRestored();
      },
    });
    this.#loop = options.loop('membership', () => this.#tick());
    this.#leaderServices = new LeaderServices({
      executor,
      instanceId: () => this.#identity.id,
      epoch: () => this.#elector.epoch,
      lockNamespace: this.#namespace,
      sessionGraceMs: timings.sessionGraceMs,
      deadAfterMs: timings.deadAfterMs,
      recoveryIntervalMs: timings.recoveryIntervalMs,
      historyRetentionMs: options.historyRetentionMs,
      createHistoryPartitions: options.createHistoryPartitions,
      events: options.events,
      logger,
      loop: options.loop,
      // Fenced: a newer epoch exists. Step down without waiting for the next check-in.
      onFenced: () => void this.#applyLeadership(this.#elector.reset('lease lost (fenced)')),
      onRecovered: options.onRecovered,
    });
  }

  get instanceId(): string {
    return this.#identity.id;
  }

  get isLeader(): boolean {
    return this.#elector.isLeader;
  }

  get epoch(): number | null {
    return this.#elector.epoch;
  }

  get sessionConnected(): boolean {
    return this.#session.connected;
  }

  /** Live replicas, counted beside the heartbeat from the first time anyone asks (the metrics gauge). */
  get liveInstances(): number | null {
    this.#liveInstancesWanted = true;
    return this.#liveInstances;
  }

  /**
   * Opens the session, takes the instance's lock, then registers the instance (in that order: the row
   * never exists without its lock). After being fenced, registers under a new id: a registration is never
   * revived.
   */
  async join(): Promise<void> {
    const { executor, events, instanceName, clock } = this.options;
    const id = this.#identity.state === 'fenced' ? randomUUID() : this.#identity.id;
    const lockKey = await nextInstanceLockKey(executor);
    if (this.#session.connected) await this.#session.relock(lockKey);
    else await this.#session.open(lockKey);
    this.#identity.sessionUp(clock.monotonicMs());
    const sentAt = clock.monotonicMs();
    await registerInstance(executor, {
      id,
      name: instanceName,
      host: hostname(),
      pid: process.pid,
      version: this.options.version,
      lockKey,
    });
    this.#identity.registered(id, sentAt);
    events.emit('instance:joined', { instanceId: id, name: instanceName });
  }

  /** Checks in at once: a guarded write was refused, or work waits to learn whether it may start. */
  verify(): void {
    this.#loop.wake();
  }

  start(): Promise<void> {
    return this.#loop.start();
  }

  /**
   * Stops checking in and leading, resigns the lease (a peer takes over at once), checks out, closes the
   * session: all within `timeoutMs`. Resigning and checking out are courtesies (without them peers take
   * over after the lease TTL and detect the replica as gone), so a database that does not answer, or a
   * row locked by a replica stalled mid-transaction, must not hold up shutdown: each statement carries
   * the remaining time as its statement and lock timeout, and the whole step is abandoned at the deadline.
   */
  async leave(options: { timeoutMs?: number } = {}): Promise<void> {
    const { clock, logger } = this.options;
    const timeoutMs = options.timeoutMs ?? LEAVE_TIMEOUT_MS;
    const deadline = clock.monotonicMs() + timeoutMs;
    const outcome = await withinDeadline(clock, timeoutMs, () =>
      this.#resignAndCheckOut(() => deadline - clock.monotonicMs()),
    );
    if (outcome === 'timed out') {
      logger.warn({ timeoutMs }, 'could not resign and check out in time; peers will detect it');
    }
    // The session goes last (its lock is how peers see this replica gone), and is bounded too: ending a
    // connection to a server that does not answer waits for that server.
    await withinDeadline(clock, Math.max(SESSION_CLOSE_MIN_MS, deadline - clock.monotonicMs()), () =>
      this.#session.close(),
    );
  }

  async #resignAndCheckOut(remainingMs: () => number): Promise<void> {
    await this.#loop.stop();
    await this.#leaderServices.stop();
    const epoch = this.#elector.epoch;
    const { executor, logger } = this.options;
    try {
      if (epoch !== null) {
        await inTransaction(executor, async (tx) => {
          await limitTransactionTime(tx, remainingMs());
          await resignLease(tx, { instanceId: this.#identity.id, epoch });
        });
        await this.#applyLeadership(this.#elector.reset('resigned'));
      }
      await inTransaction(executor, async (tx) => {
        await limitTransactionTime(tx, remainingMs());
        await checkOutInstance(tx, { id: this.#identity.id });
      });
    } catch (error) {
      logger.warn({ err: error }, 'could not resign or check out; peers will detect it');
    }
  }

  async #tick(): Promise<number> {
    const { executor, timings, clock } = this.options;
    const sentAt = clock.monotonicMs();
    const id = this.#identity.id;
    let result: { active: boolean; lease: Awaited<ReturnType<typeof acquireOrRenewLease>> };
    try {
      result = await inTransaction(executor, async (tx) => {
        const active = await checkInInstance(tx, { id });
        const lease =
          active && this.options.isRunning()
            ? await acquireOrRenewLease(tx, {
                instanceId: id,
                ttlMs: timings.leaseTtlMs,
                lockNamespace: this.#namespace,
                holderGraceMs: timings.sessionGraceMs,
              })
            : null;
        return { active, lease };
      });
    } catch (error) {
      // Only losing the database counts (see ExecutionRecoverer.databaseRegained), not a slow statement.
      if (classifyDatabaseError(error) === 'connection') this.#checkInFailed = true;
      await this.#applyLeadership(this.#elector.observeFailure());
      throw error;
    }
    if (this.#checkInFailed) {
      this.#checkInFailed = false;
      this.#leaderServices.databaseRegained();
    } else this.#leaderServices.databaseSteady();
    if (!result.active) {
      await this.#fenced('declared dead by the leader');
      return 0;
    }
    this.#identity.confirmed(sentAt);
    this.options.onCheckedIn?.();
    await this.#applyLeadership(this.#elector.observe(result.lease, sentAt));
    if (this.#liveInstancesWanted) await this.#countLiveInstances();
    return timings.heartbeatIntervalMs;
  }

  async #fenced(reason: string): Promise<void> {
    const deadId = this.#identity.id;
    // First, and synchronously: from here on nothing starts under the dead id. (A registration that failed
    // is retried on the next tick without telling everyone again.)
    if (this.#identity.fence()) {
      this.options.logger.warn({ instanceId: deadId, reason }, 'instance fenced; re-registering');
      this.options.events.emit('instance:fenced', { instanceId: deadId, reason });
      this.options.onFenced(`instance ${deadId} was declared dead`);
      await this.#applyLeadership(this.#elector.reset('instance fenced'));
    }
    await this.join();
  }

  async #applyLeadership(change: LeadershipChange): Promise<void> {
    if (!change) return;
    const { logger, events } = this.options;
    if (change.kind === 'elected') {
      logger.info({ epoch: change.epoch }, 'elected leader');
      events.emit('leader:elected', { instanceId: this.#identity.id, epoch: change.epoch });
      await this.#leaderServices.start();
    } else {
      logger.warn({ epoch: change.epoch, reason: change.reason }, 'leadership lost');
      await this.#leaderServices.stop();
      events.emit('leader:lost', {
        instanceId: this.#identity.id,
        epoch: change.epoch,
        reason: change.reason,
      });
    }
  }

  async #countLiveInstances(): Promise<void> {
    try {
      this.#liveInstances = await countActiveInstances(this.options.executor);
    } catch (error) {
      this.#liveInstances = null;
      this.options.logger.debug({ err: error }, 'could not count live instances');
    }
  }
}
