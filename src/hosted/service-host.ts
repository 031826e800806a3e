/**
 * The services of one replica: which shards it holds, and a ShardRunner for each.
 *
 * Design note (issue 12, docs/services.md).
 * - Ownership. Each (service, shard) has a lease row judged by database time. On every check-in beat the
 *   host runs ONE statement (claimServiceLeases) for all its shards: it renews every lease this instance
 *   holds and takes takeable ones (free, expired, or held by an instance whose session is gone past the
 *   session grace, or that is no longer active) up to the fair share ⌈shards / eligible replicas⌉.
 *   Taking a lease increments its epoch; renewing never does. A NOTIFY (a release, a pause) wakes the
 *   host for an extra claim, so a graceful handover takes one round trip, not a beat.
 * - Loss. A held shard missing from the claim's answer, a deadline passed without renewal, a lost
 *   session (peers may take a session-less holder's shards after the grace) or a fenced identity aborts
 *   the runner's signal at once; it restarts only when a later claim answers with the lease again.
 * - Spread. A replica over its fair share (a replica joined) stops and releases one shard per service per
 *   beat: gently, so a join moves shards one at a time.
 * - Release. Graceful stop, pause, rebalance and give-up (too many crashes) stop the run first (up to the
 *   service's stopTimeout) and release after, with a NOTIFY. A run that does not return in time keeps its
 *   lease until it expires: releasing it would let a peer start beside it.
 * - While the session is down the host claims nothing: peers may take its shards under the crash rule.
 *
 * States:  stopped --start()--> started (loop running) --stop()--> stopped (runners stopped, released)
 */
import type { Logger } from 'pino';
import type { LoopService } from '../service/loop-service.js';
import { ServiceLifecycle } from '../service/service-lifecycle.js';
import type { Executor } from '../store/executor.js';
import {
  claimServiceLeases,
  ensureServices,
  releaseServiceLeases,
  type ClaimedLease,
} from '../store/service-store.js';
import type { Clock } from '../time/clock.js';
import { placementMatches, type ServiceDefinition, type ServiceHealth } from './hosted-service.js';
import type { ServiceMetrics } from './service-metrics.js';
import { ShardRunner, type RunnerState } from './shard-runner.js';

export interface ServiceHostTimings {
  heartbeatIntervalMs: number;
  /** The service lease's time to live (renewed each beat). */
  leaseTtlMs: number;
  /** A holder whose session is gone and whose last check-in is older than this loses its shards. */
  sessionGraceMs: number;
}

export interface ServiceHostOptions {
  executor: Executor;
  definitions: () => ServiceDefinition[];
  labels: Record<string, string>;
  instanceId: () => string;
  timings: ServiceHostTimings;
  lockNamespace: number;
  clock: Clock;
  logger: Logger;
  loop: (name: string, tick: () => Promise<number>) => LoopService;
  metrics?: ServiceMetrics;
  random?: () => number;
  /** A run started, or ended (with why). */
  onRunStarted?: (shard: ShardEvent) => void;
  onRunEnded?: (shard: ShardEvent & { reason: string }) => void;
}

export interface ShardEvent {
  service: string;
  shard: number;
  epoch: number;
  instanceId: string;
}

/** What this replica runs, for /readyz, the API and the CLI. */
export interface LocalShardStatus {
  service: string;
  shard: number;
  epoch: number;
  state: RunnerState;
  health: ServiceHealth;
  restarts: number;
  uptimeMs: number | null;
}

const key = (service: string, shard: number) => `${service}/${shard}`;

export class ServiceHost {
  readonly #runners = new Map<string, ShardRunner>();
  /** Shards being stopped before their release: the claim still renews them, nothing restarts them. */
  readonly #releasing = new Set<string>();
  /** Shards given up on lately (key → monotonic ms until which they are not taken back). */
  readonly #avoid = new Map<string, number>();
  readonly #pending = new Set<Promise<unknown>>();
  readonly #loop: LoopService;
  readonly #lifecycle: ServiceLifecycle;
  #sessionUp = true;
  #ensured = false;
  #claims = 0;

  constructor(private readonly options: ServiceHostOptions) {
    this.#loop = options.loop('services', () => this.#tick());
    this.#lifecycle = new ServiceLifecycle({
      start: () => this.#loop.start(),
      stop: () => this.#stopAll(),
    });
  }

  /** The services this replica may run: registered here, and placed on replicas with its labels. */
  get eligible(): ServiceDefinition[] {
    return this.options.definitions().filter((d) => placementMatches(d.placement, this.options.labels));
  }

  /** Claim statements run so far (one per beat, plus one per NOTIFY). */
  get claims(): number {
    return this.#claims;
  }

  start(): Promise<void> {
    if (this.options.definitions().length === 0) return Promise.resolve();
    return this.#lifecycle.start();
  }

  /** Stops every runner (each up to its stopTimeout), then releases their leases with a NOTIFY. */
  stop(): Promise<void> {
    return this.#lifecycle.stop();
  }

  /** The check-in beat: renew and claim now. */
  beat(): void {
    if (this.#lifecycle.started) this.#loop.wake();
  }

  /** A NOTIFY about services: a shard may be free, or a service paused or resumed. */
  notified(): void {
    this.beat();
  }

  /** The session (and with it the instance's lock) is gone: peers may take our shards after the grace. */
  sessionLost(): void {
    this.#sessionUp = false;
    this.#loseAll('session lost');
  }

  sessionRestored(): void {
    this.#sessionUp = true;
    this.beat();
  }

  /** This instance was declared dead: everything it held is someone else's now. */
  fenced(): void {
    this.#loseAll('instance fenced');
    this.beat();
  }

  status(): LocalShardStatus[] {
    const now = this.options.clock.monotonicMs();
    return [...this.#runners.values()].map((r) => ({
      service: r.service,
      shard: r.shard,
      epoch: r.epoch,
      state: r.state,
      health: r.health,
      restarts: r.restarts,
      uptimeMs: r.startedAt === null ? null : Math.round(now - r.startedAt),
    }));
  }

  #loseAll(reason: string): void {
    for (const [k, runner] of this.#runners) {
      runner.lose(reason);
      this.#track(runner.done);
      this.#runners.delete(k);
      this.#releasing.delete(k);
      this.options.metrics?.shardDown(runner.service, runner.shard);
    }
  }

  #track(promise: Promise<unknown>): void {
    const tracked = promise.catch(() => undefined).finally(() => this.#pending.delete(tracked));
    this.#pending.add(tracked);
  }

  async #tick(): Promise<number> {
    const { executor, timings, clock, logger } = this.options;
    const fallbackMs = timings.heartbeatIntervalMs * 2;
    if (!this.#sessionUp) return fallbackMs;
    const definitions = this.eligible;
    if (!this.#ensured) {
      await ensureServices(executor, {
        services: definitions.map((d) => ({ name: d.name, shards: d.shards })),
      });
      this.#ensured = true;
    }
    const now = clock.monotonicMs();
    for (const [k, until] of this.#avoid) if (until <= now) this.#avoid.delete(k);
    const sentAt = clock.monotonicMs();
    this.#claims += 1;
    const claimed = await claimServiceLeases(executor, {
      instanceId: this.options.instanceId(),
      services: definitions.map((d) => d.name),
      ttlMs: timings.leaseTtlMs,
      lockNamespace: this.options.lockNamespace,
      holderGraceMs: timings.sessionGraceMs,
      avoid: [...this.#avoid.keys()],
    });
    // The session may have gone while the claim was in flight: start nothing on its answer.
    if (!this.#sessionUp) return fallbackMs;
    this.#apply(claimed, definitions, sentAt + timings.leaseTtlMs - renewalMargin(timings.leaseTtlMs));
    logger.trace({ held: this.#runners.size }, 'service leases claimed');
    return fallbackMs;
  }

  #apply(claimed: ClaimedLease[], definitions: ServiceDefinition[], deadlineMs: number): void {
    const byKey = new Map(claimed.map((c) => [key(c.service, c.shard), c]));
    for (const [k, runner] of this.#runners) {
      const lease = byKey.get(k);
      if (!lease || lease.epoch !== runner.epoch) {
        this.options.logger.warn(
          { service: runner.service, shard: runner.shard, epoch: runner.epoch },
          'service lease lost; aborting the shard',
        );
        runner.lose('lease lost');
        this.#track(runner.done);
        this.#runners.delete(k);
        this.options.metrics?.shardDown(runner.service, runner.shard);
      }
    }
    const definitionOf = new Map(definitions.map((d) => [d.name, d]));
    const heldPerService = new Map<string, ClaimedLease[]>();
    for (const lease of claimed) {
      const k = key(lease.service, lease.shard);
      const definition = definitionOf.get(lease.service);
      if (!definition || this.#releasing.has(k)) continue;
      if (lease.paused) {
        this.#handOff(k, lease, 'paused');
        continue;
      }
      const list = heldPerService.get(lease.service) ?? [];
      list.push(lease);
      heldPerService.set(lease.service, list);
      const runner = this.#runners.get(k);
      if (runner) {
        runner.extend(deadlineMs);
        continue;
      }
      if (lease.kind === 'acquired' && lease.handoverMs !== null) {
        this.options.metrics?.handover(lease.service, lease.handoverMs / 1000);
      }
      this.#startRunner(definition, lease, deadlineMs);
    }
    // Over the fair share (a replica joined), or two more than the least loaded peer: hand shards back,
    // the highest first, at most a quarter of what this replica holds per beat (one at a time for small
    // services), and leave them to the others for a few beats.
    for (const [, leases] of heldPerService) {
      const { cap, minOther, unheld } = leases[0]!;
      const running = leases.filter((l) => !this.#releasing.has(key(l.service, l.shard)));
      const overCap = running.length - cap;
      // Only when every shard is held: while some are free, the least loaded replica takes those.
      const overPeer = minOther === null || unheld > 0 ? 0 : Math.ceil((running.length - minOther - 1) / 2);
      const excess = Math.min(Math.max(overCap, overPeer), Math.max(1, Math.ceil(running.length / 4)));
      if (excess <= 0) continue;
      const give = [...running].sort((a, b) => b.shard - a.shard).slice(0, excess);
      const until = this.options.clock.monotonicMs() + 3 * this.options.timings.heartbeatIntervalMs;
      for (const l of give) this.#avoid.set(key(l.service, l.shard), until);
      this.#handOffMany(give, 'rebalanced');
    }
  }

  #startRunner(definition: ServiceDefinition, lease: ClaimedLease, deadlineMs: number): void {
    const k = key(lease.service, lease.shard);
    const { metrics } = this.options;
    const event = {
      service: lease.service,
      shard: lease.shard,
      epoch: lease.epoch,
      instanceId: this.options.instanceId(),
    };
    const runner = new ShardRunner({
      definition,
      shard: lease.shard,
      epoch: lease.epoch,
      instanceId: this.options.instanceId(),
      executor: this.options.executor,
      clock: this.options.clock,
      logger: this.options.logger.child({ component: 'services' }),
      deadlineMs,
      random: this.options.random,
      onStarted: () => {
        metrics?.shardUp(lease.service, lease.shard);
        this.options.onRunStarted?.({ ...event });
      },
      onEnded: (reason) => {
        this.options.logger.info(
          { service: lease.service, shard: lease.shard, epoch: lease.epoch, reason },
          'service shard stopped',
        );
        this.options.onRunEnded?.({ ...event, reason });
      },
      onRestart: () => {
        metrics?.restarted(lease.service);
        metrics?.shardWaiting(lease.service, lease.shard);
      },
      onGaveUp: () => {
        this.#avoid.set(k, this.options.clock.monotonicMs() + definition.restart.windowMs);
        this.#handOff(k, lease, `gave up after ${definition.restart.maxFailures} failures`);
      },
    });
    this.#runners.set(k, runner);
    this.options.logger.info(
      { service: lease.service, shard: lease.shard, epoch: lease.epoch, kind: lease.kind },
      'service shard started',
    );
    runner.start();
  }

  /** Stops the shard's runner (if any), then releases its lease; in the background. */
  #handOff(k: string, lease: ClaimedLease, reason: string): void {
    this.#handOffMany([lease], reason);
  }

  /** Stops the shards' runners in parallel, then releases the leases in one statement; in the background. */
  #handOffMany(leases: ClaimedLease[], reason: string): void {
    const fresh = leases.filter((l) => !this.#releasing.has(key(l.service, l.shard)));
    if (fresh.length === 0) return;
    for (const l of fresh) this.#releasing.add(key(l.service, l.shard));
    const work = (async () => {
      const stopped = await Promise.all(
        fresh.map(async (lease) => {
          const k = key(lease.service, lease.shard);
          const runner = this.#runners.get(k);
          const done = runner ? await runner.stop(reason) : true;
          if (runner) this.options.metrics?.shardDown(runner.service, runner.shard);
          if (this.#runners.get(k) === runner) this.#runners.delete(k);
          return done ? lease : null;
        }),
      );
      const released = stopped.filter((l): l is ClaimedLease => l !== null);
      if (released.length === 0) return;
      await releaseServiceLeases(this.options.executor, {
        instanceId: this.options.instanceId(),
        leases: released.map((l) => ({ service: l.service, shard: l.shard, epoch: l.epoch })),
        reason,
      });
    })()
      .catch((error: unknown) =>
        this.options.logger.warn({ err: error, shards: fresh.length, reason }, 'release failed'),
      )
      .finally(() => {
        for (const l of fresh) this.#releasing.delete(key(l.service, l.shard));
      });
    this.#track(work);
  }

  async #stopAll(): Promise<void> {
    await this.#loop.stop();
    const runners = [...this.#runners.values()];
    this.#runners.clear();
    const stopped = await Promise.all(runners.map(async (r) => ((await r.stop('stopped')) ? r : null)));
    for (const r of runners) this.options.metrics?.shardDown(r.service, r.shard);
    await Promise.all([...this.#pending]);
    const leases = stopped
      .filter((r): r is ShardRunner => r !== null)
      .map((r) => ({ service: r.service, shard: r.shard, epoch: r.epoch }));
    if (leases.length === 0) return;
    try {
      await releaseServiceLeases(this.options.executor, {
        instanceId: this.options.instanceId(),
        leases,
        reason: 'stopped',
      });
    } catch (error) {
      this.options.logger.warn({ err: error }, 'could not release service leases; peers take them at expiry');
    }
  }
}

/** How much earlier than the database's expiry the holder gives a lease up (clock-rate slack). */
export function renewalMargin(ttlMs: number): number {
  return Math.min(1_000, Math.round(ttlMs / 20));
}
