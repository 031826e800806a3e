/**
 * Runs one shard of a service on this replica for as long as it holds the shard's lease at one epoch.
 *
 * States:  running --run() throws or returns early--> backoff --(delay)--> running
 *          running/backoff --stop()--> stopping --(run returned, or stopTimeout)--> ended
 *          any --lose()--> ended at once (signal aborted; nothing more starts)
 *          backoff --(maxFailures within windowMs)--> ended, onGaveUp (the host releases the shard)
 *
 * Why a stale holder never runs beside a new one: every run passes a start gate in the database (the run
 * row is written only if this instance holds the lease at this epoch, unexpired), and the host renews
 * the lease on every beat and moves this runner's deadline to `sent + ttl − margin` by the local
 * monotonic clock. The database's expiry is at least `sent + ttl` (the statement runs after it was
 * sent), so the runner's watchdog aborts the signal before any peer can see the lease expired. A replica
 * frozen past its deadline finds, on waking, the deadline passed: `holdsLease()` is false at once, and
 * the watchdog aborts as soon as the event loop turns. The fenced checkpoint is the last line: a write
 * under a stale epoch changes nothing.
 */
import type { Logger } from 'pino';
import { endServiceRun, readCheckpoint, startServiceRun, writeCheckpoint } from '../store/service-store.js';
import type { Executor } from '../store/executor.js';
import { backoffDelay } from '../time/backoff.js';
import type { Clock } from '../time/clock.js';
import {
  ServiceFencedError,
  type ServiceContext,
  type ServiceDefinition,
  type ServiceHealth,
  type ServiceHealthStatus,
} from './hosted-service.js';

export type RunnerState = 'starting' | 'running' | 'backoff' | 'stopping' | 'ended';

export interface ShardRunnerOptions {
  definition: ServiceDefinition;
  shard: number;
  epoch: number;
  instanceId: string;
  executor: Executor;
  clock: Clock;
  logger: Logger;
  /** Monotonic ms after which the lease may be gone: the signal aborts then. */
  deadlineMs: number;
  random?: () => number;
  onStarted?: () => void;
  /** A run ended (after run() returned or threw), with why. */
  onEnded?: (reason: string) => void;
  onRestart?: () => void;
  /** Too many failures in the window: the host releases the shard so that another replica can try. */
  onGaveUp?: () => void;
}

/** Backoff for a database error at the start gate (not the service's fault, so not counted). */
const GATE_RETRY_MS = 250;

export class ShardRunner {
  readonly service: string;
  readonly shard: number;
  readonly epoch: number;
  #state: RunnerState = 'starting';
  #deadline: number;
  readonly #stop = new AbortController();
  #run: AbortController | undefined;
  #endReason = 'stopped';
  #health: ServiceHealth = { status: 'healthy' };
  #restarts = 0;
  #startedAt: number | null = null;
  #done: Promise<void> = Promise.resolve();
  #watchdog: Promise<void> = Promise.resolve();

  constructor(private readonly options: ShardRunnerOptions) {
    this.service = options.definition.name;
    this.shard = options.shard;
    this.epoch = options.epoch;
    this.#deadline = options.deadlineMs;
  }

  get state(): RunnerState {
    return this.#state;
  }

  get health(): ServiceHealth {
    return this.#health;
  }

  get restarts(): number {
    return this.#restarts;
  }

  /** Monotonic ms when the current run started, or null. */
  get startedAt(): number | null {
    return this.#startedAt;
  }

  /** Resolves once the run loop has ended (run() returned). */
  get done(): Promise<void> {
    return Promise.all([this.#done, this.#watchdog]).then(() => undefined);
  }

  start(): void {
    this.#done = this.#loop();
    this.#watchdog = this.#watch();
  }

  /** A renewal succeeded: the lease is ours until at least this monotonic instant. */
  extend(deadlineMs: number): void {
    if (deadlineMs > this.#deadline) this.#deadline = deadlineMs;
  }

  holdsLease(): boolean {
    return (
      !this.#stop.signal.aborted &&
      this.#state !== 'ended' &&
      this.options.clock.monotonicMs() < this.#deadline
    );
  }

  /** The lease is gone (or may be): abort now, start nothing more. Does not wait for run() to return. */
  lose(reason: string): void {
    if (this.#stop.signal.aborted) return;
    this.#endReason = reason;
    this.#abort(reason);
  }

  /**
   * Graceful: aborts the signal and waits up to the service's stopTimeout for run() to return. Returns
   * whether it did (only then may the lease be released: a run that ignores its signal keeps the lease
   * until it expires, so that no peer starts beside it).
   */
  async stop(reason: string): Promise<boolean> {
    if (!this.#stop.signal.aborted) {
      this.#endReason = reason;
      if (this.#state !== 'ended') this.#state = 'stopping';
      this.#abort(reason);
    }
    const { clock, definition } = this.options;
    const timeout = new AbortController();
    const finished = await Promise.race([
      this.#done.then(() => true),
      clock.sleep(definition.stopTimeoutMs, timeout.signal).then(() => false),
    ]);
    timeout.abort();
    if (!finished) {
      this.options.logger.warn(
        { service: this.service, shard: this.shard, stopTimeoutMs: definition.stopTimeoutMs },
        'service run did not return after its signal aborted; its lease is left to expire',
      );
    }
    return finished;
  }

  #abort(reason: string): void {
    this.#stop.abort(reason);
    this.#run?.abort(reason);
  }

  async #watch(): Promise<void> {
    const { clock } = this.options;
    while (!this.#stop.signal.aborted) {
      const waitMs = this.#deadline - clock.monotonicMs();
      if (waitMs <= 0) {
        this.options.logger.warn(
          { service: this.service, shard: this.shard, epoch: this.epoch },
          'service lease not renewed in time; stopping the shard',
        );
        this.lose('lease expired');
        return;
      }
      await clock.sleep(waitMs, this.#stop.signal);
    }
  }

  async #loop(): Promise<void> {
    const { definition, clock, logger, executor } = this.options;
    const failures: number[] = [];
    const stop = this.#stop.signal;
    try {
      while (!stop.aborted) {
        const run = new AbortController();
        this.#run = run;
        let runId: string | null;
        try {
          runId = await startServiceRun(executor, {
            instanceId: this.options.instanceId,
            service: this.service,
            shard: this.shard,
            epoch: this.epoch,
          });
        } catch (error) {
          logger.warn(
            { err: error, service: this.service, shard: this.shard },
            'could not start a service run',
          );
          await clock.sleep(GATE_RETRY_MS, stop);
          continue;
        }
        if (runId === null) {
          this.lose('lease not held at start');
          break;
        }
        if (stop.aborted) {
          await this.#endRun(runId, this.#endReason, null);
          break;
        }
        this.#state = 'running';
        this.#startedAt = clock.monotonicMs();
        this.options.onStarted?.();
        let reason: string;
        let errorText: string | null = null;
        try {
          const instance = new definition.serviceClass();
          await instance.run(this.#context(run.signal) as ServiceContext<never, never>);
          reason = run.signal.aborted ? this.#endReason : 'returned early';
        } catch (error) {
          reason = run.signal.aborted ? this.#endReason : 'crashed';
          errorText = error instanceof Error ? error.message : String(error);
          if (!run.signal.aborted) {
            logger.warn({ err: error, service: this.service, shard: this.shard }, 'service run crashed');
          }
        }
        run.abort('run ended');
        this.#startedAt = null;
        this.options.onEnded?.(reason);
        await this.#endRun(runId, reason, errorText);
        if (stop.aborted) break;
        const now = clock.monotonicMs();
        failures.push(now);
        while (failures.length > 0 && now - failures[0]! > definition.restart.windowMs) failures.shift();
        if (failures.length >= definition.restart.maxFailures) {
          logger.warn(
            { service: this.service, shard: this.shard, failures: failures.length },
            'service failed too often; releasing the shard for another replica',
          );
          this.#endReason = `gave up after ${failures.length} failures`;
          this.#abort(this.#endReason);
          this.options.onGaveUp?.();
          break;
        }
        this.#state = 'backoff';
        this.#restarts += 1;
        this.options.onRestart?.();
        const delay = backoffDelay(
          {
            attempt: failures.length,
            initialMs: definition.restart.initialMs,
            maxMs: definition.restart.maxMs,
            jitter: 'equal',
          },
          this.options.random,
        );
        await clock.sleep(delay, stop);
      }
    } finally {
      this.#state = 'ended';
      this.#stop.abort(this.#endReason);
    }
  }

  async #endRun(id: string, reason: string, error: string | null): Promise<void> {
    try {
      await endServiceRun(this.options.executor, { id, reason, error });
    } catch (err) {
      // The history row stays open; a takeover or the next release ends it.
      this.options.logger.debug({ err, service: this.service, shard: this.shard }, 'could not end a run');
    }
  }

  #context(signal: AbortSignal): ServiceContext {
    const { definition, executor, instanceId, logger } = this.options;
    const { service, shard, epoch } = this;
    return {
      service,
      shard,
      shards: definition.shards,
      epoch,
      instanceId,
      signal,
      data: definition.data,
      logger: logger.child({ service, shard, epoch }),
      health: (status: ServiceHealthStatus, details?: Record<string, unknown>) => {
        this.#health = details ? { status, details } : { status };
      },
      holdsLease: () => !signal.aborted && this.holdsLease(),
      checkpoint: {
        get: async () => (await readCheckpoint(executor, { service, shard })).value,
        set: async (value: unknown) => {
          const written = await writeCheckpoint(executor, { instanceId, service, shard, epoch, value });
          if (!written) {
            this.lose('checkpoint refused');
            throw new ServiceFencedError({ service, shard, epoch });
          }
        },
      },
    };
  }
}
