/**
 * The services' metrics (issue 12): `belfry_service_up{service,shard}` (1 while this replica runs the
 * shard), `belfry_service_restarts_total{service}` (runs restarted after a crash or an early return) and
 * `belfry_service_handover_seconds{service}` (from the previous holder's release, or its last renewal
 * when it was lost, to this replica taking the shard, by database time). Through `@opentelemetry/api`,
 * like the built-in metrics (src/listeners/builtin/metrics-listener.ts): no-ops without a MeterProvider.
 */
import { metrics, ValueType, type Counter, type Histogram, type MeterProvider } from '@opentelemetry/api';

const METER_NAME = 'belfry';
export const HANDOVER_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 30, 60];

export class ServiceMetrics {
  readonly #up = new Map<string, { service: string; shard: number; up: number }>();
  readonly #restarts: Counter;
  readonly #handover: Histogram;

  constructor(options: { meterProvider?: MeterProvider; version?: string } = {}) {
    const meter = (options.meterProvider ?? metrics.getMeterProvider()).getMeter(METER_NAME, options.version);
    meter
      .createObservableGauge('belfry_service_up', {
        description: '1 while this replica runs the service shard, 0 while it holds it without running it',
        valueType: ValueType.INT,
      })
      .addCallback((result) => {
        for (const { service, shard, up } of this.#up.values()) {
          result.observe(up, { service, shard: String(shard) });
        }
      });
    this.#restarts = meter.createCounter('belfry_service_restarts', {
      description: 'Service runs restarted on the same replica after a crash or an early return',
      valueType: ValueType.INT,
    });
    this.#handover = meter.createHistogram('belfry_service_handover_seconds', {
      description:
        "From the previous holder's release (or last renewal, when lost) to a new holder taking the shard",
      unit: 's',
      advice: { explicitBucketBoundaries: HANDOVER_BUCKETS },
    });
  }

  shardUp(service: string, shard: number): void {
    this.#up.set(`${service}/${shard}`, { service, shard, up: 1 });
  }

  /** Held, between two runs (a restart's backoff). */
  shardWaiting(service: string, shard: number): void {
    this.#up.set(`${service}/${shard}`, { service, shard, up: 0 });
  }

  shardDown(service: string, shard: number): void {
    this.#up.delete(`${service}/${shard}`);
  }

  restarted(service: string): void {
    this.#restarts.add(1, { service });
  }

  handover(service: string, seconds: number): void {
    this.#handover.record(seconds, { service });
  }
}
