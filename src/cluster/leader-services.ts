/**
 * The leader-only services, started and stopped as a group with leadership (River's model):
 *   - the execution recoverer: declares replicas dead and recovers their executions (every second);
 *   - the history pruner: enforces retention in bounded batches (every minute, back to back while
 *     there is a backlog).
 * Each pass is fenced by the epoch it was started under; a pass that finds the lease gone reports it
 * through `onFenced`, and the scheduler steps down. Both are idempotent at the database level anyway,
 * so a brief overlap of two leaders (one of them already fenced) does no harm.
 */
import type { Logger } from 'pino';
import type { SchedulerEventBus } from '../events/scheduler-events.js';
import type { LoopService } from '../service/loop-service.js';
import { ServiceLifecycle } from '../service/service-lifecycle.js';
import type { Executor } from '../store/executor.js';
import { ExecutionRecoverer } from './execution-recoverer.js';
import { HistoryPruner } from './history-pruner.js';

export interface LeaderServicesOptions {
  executor: Executor;
  instanceId: () => string;
  /** The epoch we lead under, or null when we do not lead. */
  epoch: () => number | null;
  lockNamespace: number;
  sessionGraceMs: number;
  deadAfterMs: number;
  recoveryIntervalMs: number;
  historyRetentionMs: number;
  createHistoryPartitions: boolean;
  pruneIntervalMs?: number;
  events: SchedulerEventBus;
  logger: Logger;
  /** Builds a loop service with the scheduler's error handling. */
  loop: (name: string, tick: () => Promise<number>) => LoopService;
  /** A pass found the lease taken: step down. */
  onFenced: () => void;
  /** Executions were re-dispatched: wake the acquirer. */
  onRecovered: () => void;
}

export class LeaderServices {
  readonly #recoverer: ExecutionRecoverer;
  readonly #pruner: HistoryPruner;
  readonly #recoveryLoop: LoopService;
  readonly #pruneLoop: LoopService;

  constructor(private readonly options: LeaderServicesOptions) {
    this.#recoverer = new ExecutionRecoverer({
      executor: options.executor,
      instanceId: options.instanceId,
      lockNamespace: options.lockNamespace,
      sessionGraceMs: options.sessionGraceMs,
      deadAfterMs: options.deadAfterMs,
    });
    this.#pruner = new HistoryPruner({
      executor: options.executor,
      instanceId: options.instanceId,
      retentionMs: options.historyRetentionMs,
      createPartitions: options.createHistoryPartitions,
      logger: options.logger,
    });
    this.#recoveryLoop = options.loop('recoverer', () => this.#recoveryTick());
    this.#pruneLoop = options.loop('history-pruner', () => this.#pruneTick());
  }

  /** This replica reached the database again after losing it (see ExecutionRecoverer). */
  databaseRegained(): void {
    this.#recoverer.databaseRegained();
  }

  /** A check-in succeeded with none failing before it (see ExecutionRecoverer). */
  databaseSteady(): void {
    this.#recoverer.databaseSteady();
  }

  /**
   * Leadership can be lost and won back while a stop is between the two loops (a fenced pass stops the
   * group while the next check-in is elected again): the lifecycle runs start and stop one after the
   * other and the last call wins, so the group is never left half up.
   */
  readonly #lifecycle = new ServiceLifecycle({
    start: async () => {
      this.#recoverer.reset();
      await this.#recoveryLoop.start();
      await this.#pruneLoop.start();
    },
    stop: async () => {
      await this.#pruneLoop.stop();
      await this.#recoveryLoop.stop();
    },
  });

  start(): Promise<void> {
    return this.#lifecycle.start();
  }

  stop(): Promise<void> {
    return this.#lifecycle.stop();
  }

  async #recoveryTick(): Promise<number> {
    const { options } = this;
    const epoch = options.epoch();
    if (epoch === null) return options.recoveryIntervalMs;
    const pass = await this.#recoverer.pass(epoch);
    if (!pass.leaseHeld) {
      options.onFenced();
      return options.recoveryIntervalMs;
    }
    for (const dead of pass.dead) {
      // `dead`, not `instance`: the logger's own `instance` binding names the replica that writes the line.
      options.logger.warn({ dead: dead.name, reason: dead.reason }, 'instance declared dead');
      options.events.emit('instance:dead', { instanceId: dead.id, name: dead.name, reason: dead.reason });
    }
    for (const execution of pass.recovered) {
      const { executionId, job, instanceId } = execution;
      if (execution.outcome === 'recovered') {
        options.events.emit('execution:recovered', {
          executionId,
          job,
          instanceId,
          nextExecutionId: execution.nextExecutionId,
        });
      } else {
        options.events.emit('execution:abandoned', { executionId, job, instanceId });
      }
    }
    if (pass.recovered.length > 0) options.onRecovered();
    return pass.recovered.length >= 500 ? 0 : options.recoveryIntervalMs;
  }

  async #pruneTick(): Promise<number> {
    const { options } = this;
    const interval = options.pruneIntervalMs ?? 60_000;
    const epoch = options.epoch();
    if (epoch === null) return interval;
    const pass = await this.#pruner.pass(epoch);
    if (!pass.leaseHeld) {
      options.onFenced();
      return interval;
    }
    if (pass.deleted > 0 || pass.partitionsDropped.length > 0) {
      options.logger.info(
        {
          fires: pass.fires,
          executions: pass.executions,
          triggers: pass.triggers,
          instances: pass.instances,
          adminAudit: pass.adminAudit,
          partitionsDropped: pass.partitionsDropped,
        },
        'history pruned',
      );
    }
    // A short pause between batches of a backlog leaves the database room for firing.
    return pass.more ? 50 : interval;
  }
}
