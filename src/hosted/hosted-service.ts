/**
 * What a user writes to run a long-running service on Belfry (docs/services.md): a class with
 * `async run(ctx)` that returns only once `ctx.signal` aborts, and the options it is registered with.
 *
 * Terms: a *service* is split into `shards` (default 1); each shard is a lease held by one replica at a
 * time; the *epoch* of a shard grows at every change of holder; a *run* is one call of `run(ctx)` (a
 * crash restarts it under the same epoch, on the same replica).
 */
import type { Logger } from 'pino';
import { BelfryError } from '../errors/belfry-error.js';

/** A shard's fenced checkpoint: a JSON value kept per shard across holders. */
export interface ServiceCheckpoint<T = unknown> {
  /** The last value written (by this holder or an earlier one), or null. */
  get(): Promise<T | null>;
  /**
   * Writes `value` if this run's epoch is still the shard's epoch. Otherwise nothing is written, the run's
   * signal aborts, and this rejects with ServiceFencedError (BELFRY_ERR_SERVICE_FENCED).
   */
  set(value: T): Promise<void>;
}

export type ServiceHealthStatus = 'healthy' | 'degraded' | 'unhealthy';

export interface ServiceHealth {
  status: ServiceHealthStatus;
  details?: Record<string, unknown>;
}

export interface ServiceContext<Data = Record<string, unknown>, Checkpoint = unknown> {
  readonly service: string;
  readonly shard: number;
  readonly shards: number;
  /** The fencing token of this tenure: carry it in your own writes (docs/services.md shows how). */
  readonly epoch: number;
  readonly instanceId: string;
  /** Aborts at once when the lease is lost, and on a graceful stop, pause or handover. */
  readonly signal: AbortSignal;
  readonly checkpoint: ServiceCheckpoint<Checkpoint>;
  readonly data: Data;
  readonly logger: Logger;
  /** Reports health; shown in /readyz details, `belfry services` and the API. Never makes a replica unready. */
  health(status: ServiceHealthStatus, details?: Record<string, unknown>): void;
  /**
   * True while this replica still holds the lease by its own monotonic clock (and the signal has not
   * aborted). Checked synchronously: read it after stamping an observation to know the stamp was made
   * while the lease was held.
   */
  holdsLease(): boolean;
}

export interface HostedService<Data = Record<string, unknown>, Checkpoint = unknown> {
  run(ctx: ServiceContext<Data, Checkpoint>): Promise<void>;
}

export type HostedServiceClass<
  Data = Record<string, unknown>,
  Checkpoint = unknown,
> = new () => HostedService<Data, Checkpoint>;

export interface ServiceRestartPolicy {
  /** Backoff before a restart after the first crash (ms). Default 1 s. */
  initialMs?: number;
  /** Backoff cap (ms). Default 30 s. */
  maxMs?: number;
  /** After this many failures within `windowMs`, the shard is released for another replica. Default 5. */
  maxFailures?: number;
  /** Default 60 s. */
  windowMs?: number;
}

export type ServicePlacement = 'any' | { labels: Record<string, string> };

export interface ServiceOptions<Data = Record<string, unknown>> {
  /** Default 1. Each shard is held and run separately, with `ctx.shard` in [0, shards). */
  shards?: number;
  restart?: ServiceRestartPolicy;
  /** How long run() gets to return after its signal aborts on a graceful stop (ms). Default 10 s. */
  stopTimeoutMs?: number;
  /** Which replicas may run it: any (default), or those whose labels include all of these. */
  placement?: ServicePlacement;
  data?: Data;
}

export interface ServiceDefinition {
  name: string;
  serviceClass: HostedServiceClass<never, never>;
  shards: number;
  restart: Required<ServiceRestartPolicy>;
  stopTimeoutMs: number;
  placement: ServicePlacement;
  data: Record<string, unknown>;
}

export const DEFAULT_RESTART: Required<ServiceRestartPolicy> = {
  initialMs: 1_000,
  maxMs: 30_000,
  maxFailures: 5,
  windowMs: 60_000,
};
export const DEFAULT_STOP_TIMEOUT_MS = 10_000;

/** A checkpoint write under an epoch that is no longer the shard's: another replica holds it now. */
export class ServiceFencedError extends BelfryError {
  readonly service: string;
  readonly shard: number;
  readonly epoch: number;

  constructor(params: { service: string; shard: number; epoch: number }) {
    super(
      'BELFRY_ERR_SERVICE_FENCED',
      `service ${params.service} shard ${params.shard}: epoch ${params.epoch} no longer holds the lease; the checkpoint was not written`,
    );
    this.service = params.service;
    this.shard = params.shard;
    this.epoch = params.epoch;
  }
}

/** A service registration is invalid (name, class, shards, options), or names an unknown service. */
export class ServiceRegistryError extends BelfryError {
  constructor(message: string) {
    super('BELFRY_ERR_SERVICE_REGISTRY', message);
  }
}

/** Whether a replica with `labels` may run a service with `placement`. */
export function placementMatches(placement: ServicePlacement, labels: Record<string, string>): boolean {
  if (placement === 'any') return true;
  return Object.entries(placement.labels).every(([key, value]) => labels[key] === value);
}

/** Validates and fills in a registration. */
export function defineService(
  name: string,
  serviceClass: HostedServiceClass<never, never>,
  options: ServiceOptions<Record<string, unknown>> = {},
): ServiceDefinition {
  if (!/^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$/.test(name) || name.includes('/')) {
    throw new ServiceRegistryError(`service name ${JSON.stringify(name)} is invalid`);
  }
  if (typeof serviceClass !== 'function' || typeof serviceClass.prototype?.run !== 'function') {
    throw new ServiceRegistryError(`service ${name}: the class has no run(ctx) method`);
  }
  const shards = options.shards ?? 1;
  if (!Number.isInteger(shards) || shards < 1 || shards > 100_000) {
    throw new ServiceRegistryError(`service ${name}: shards must be a whole number from 1 to 100000`);
  }
  const restart = { ...DEFAULT_RESTART, ...options.restart };
  if (restart.maxFailures < 1 || restart.windowMs <= 0 || restart.initialMs < 0 || restart.maxMs < 0) {
    throw new ServiceRegistryError(`service ${name}: restart needs maxFailures >= 1 and positive times`);
  }
  return {
    name,
    serviceClass,
    shards,
    restart,
    stopTimeoutMs: options.stopTimeoutMs ?? DEFAULT_STOP_TIMEOUT_MS,
    placement: options.placement ?? 'any',
    data: options.data ?? {},
  };
}
