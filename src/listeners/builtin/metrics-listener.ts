/**
 * The built-in metrics, written as an ordinary listener (plus a few scheduler events that no Quartz hook
 * covers: acquisitions, fires recorded as skipped, recoveries). Instruments come from
 * `@opentelemetry/api`: without a MeterProvider they are no-ops; the entry point registers one whose
 * Prometheus reader renders them at `/metrics`. The names are a contract (dashboards and alert rules in
 * deploy/observability use them): the Prometheus exporter adds `_total` to counters, nothing else.
 *
 * Labels stay low-cardinality: trigger group, outcome, status. A `trigger` label is opt-in
 * (`triggerLabels`), as it grows with the number of triggers. The gauges are observed at collection time
 * from values this replica already holds: a scrape never reaches the database.
 */
import {
  createNoopMeter,
  metrics,
  ValueType,
  type Attributes,
  type Counter,
  type Histogram,
  type MeterProvider,
} from '@opentelemetry/api';
import type { SchedulerEventBus } from '../../events/scheduler-events.js';
import type { ListenerRegistry } from '../listener-registry.js';
import type { ExecutionInfo, ExecutionResult, MisfireInfo } from '../listener.js';
import { attachBuiltinListener, type BuiltinListener } from './builtin-listener.js';

export const METER_NAME = 'belfry';

/** Bucket boundaries, in seconds (lag and durations) or fires (batch size). */
export const LAG_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
export const DURATION_BUCKETS = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600,
];
export const ROUND_TRIP_BUCKETS = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
];
export const BATCH_BUCKETS = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000];

/**
 * True when metrics go nowhere (no MeterProvider registered or given): the scheduler then registers no
 * metrics listener at all, so disabled metrics cost nothing. The metrics API has no proxy, so a provider
 * registered later would not be seen by instruments made now anyway.
 */
export function isNoopMeterProvider(provider: MeterProvider = metrics.getMeterProvider()): boolean {
  return provider.getMeter(METER_NAME).constructor === createNoopMeter().constructor;
}

export interface MetricsListenerOptions {
  /** Default: the global MeterProvider as it is when the listener is built (set the SDK up first). */
  meterProvider?: MeterProvider;
  version?: string;
  /** Adds a `trigger` label to fire, lag, duration and failure series. Off by default. */
  triggerLabels?: boolean;
  /** Read at collection time. */
  inFlight: () => number;
  isLeader: () => boolean;
  /** Live replicas as last counted beside the heartbeat; null until known. */
  liveInstances: () => number | null;
  /** Dead letters as last counted (operations/dead-letter-count.ts); null until known. */
  deadLetters?: () => number | null;
}

export class MetricsListener implements BuiltinListener {
  readonly name = 'belfry.metrics';
  readonly #triggerLabels: boolean;
  readonly #fires: Counter;
  readonly #lag: Histogram;
  readonly #duration: Histogram;
  readonly #failures: Counter;
  readonly #retries: Counter;
  readonly #misfires: Counter;
  readonly #recoveries: Counter;
  readonly #vetoes: Counter;
  readonly #leaderChanges: Counter;
  readonly #batchSize: Histogram;
  readonly #roundTrip: Histogram;
  readonly #listenerFailures: Counter;

  constructor(options: MetricsListenerOptions) {
    const meter = (options.meterProvider ?? metrics.getMeterProvider()).getMeter(METER_NAME, options.version);
    this.#triggerLabels = options.triggerLabels ?? false;
    const counter = (name: string, description: string, unit: string) =>
      meter.createCounter(name, { description, unit, valueType: ValueType.INT });
    const histogram = (
      name: string,
      description: string,
      unit: string,
      buckets: number[],
      valueType = ValueType.DOUBLE,
    ) =>
      meter.createHistogram(name, {
        description,
        unit,
        valueType,
        advice: { explicitBucketBoundaries: buckets },
      });

    this.#fires = counter(
      'belfry_fires',
      'Fires recorded by this replica, by trigger group and outcome (fired, skipped, misfired).',
      '{fire}',
    );
    this.#lag = histogram(
      'belfry_fire_lag_seconds',
      "Time from a fire's scheduled time to its recording (database clock), by trigger group.",
      's',
      LAG_BUCKETS,
    );
    this.#duration = histogram(
      'belfry_execution_duration_seconds',
      'Execution attempts run by this replica: duration by trigger group and status.',
      's',
      DURATION_BUCKETS,
    );
    this.#failures = counter(
      'belfry_execution_failures',
      'Execution attempts that failed or timed out, by trigger group.',
      '{execution}',
    );
    this.#retries = counter('belfry_retries', 'Retries scheduled after a failed attempt.', '{execution}');
    this.#misfires = counter(
      'belfry_misfires',
      'Fires recorded as misfired (the misfire policy dropped them).',
      '{fire}',
    );
    this.#recoveries = counter(
      'belfry_recoveries',
      'Executions of dead replicas handled by this leader, by outcome (recovered, abandoned).',
      '{execution}',
    );
    this.#vetoes = counter(
      'belfry_vetoes',
      'Execution attempts vetoed by a trigger listener.',
      '{execution}',
    );
    this.#leaderChanges = counter(
      'belfry_leader_changes',
      'Times this replica was elected leader.',
      '{election}',
    );
    this.#batchSize = histogram(
      'belfry_acquisition_batch_size',
      'Due triggers locked per acquisition transaction (empty ones not counted).',
      '{trigger}',
      BATCH_BUCKETS,
      ValueType.INT,
    );
    this.#roundTrip = histogram(
      'belfry_db_round_trip_seconds',
      'Duration of the acquisition transaction (lock, plan, record, commit).',
      's',
      ROUND_TRIP_BUCKETS,
    );
    this.#listenerFailures = counter(
      'belfry_listener_failures',
      'Listener hooks that threw or timed out, by hook.',
      '{call}',
    );
    // Series without per-group labels exist from the start (at 0), so rate() and alerts see them before
    // the first event. Series labelled by group appear with their group's first event.
    for (const unlabelled of [this.#retries, this.#misfires, this.#vetoes, this.#leaderChanges])
      unlabelled.add(0);
    this.#recoveries.add(0, { outcome: 'recovered' });
    this.#recoveries.add(0, { outcome: 'abandoned' });

    meter
      .createObservableGauge('belfry_executions_in_flight', {
        description: 'Execution attempts running on this replica.',
        unit: '{execution}',
        valueType: ValueType.INT,
      })
      .addCallback((result) => result.observe(options.inFlight()));
    meter
      .createObservableGauge('belfry_is_leader', {
        description: '1 while this replica holds the leader lease.',
        valueType: ValueType.INT,
      })
      .addCallback((result) => result.observe(options.isLeader() ? 1 : 0));
    meter
      .createObservableGauge('belfry_live_instances', {
        description: "Active replicas in the cluster registry, as counted beside this replica's heartbeat.",
        unit: '{instance}',
        valueType: ValueType.INT,
      })
      .addCallback((result) => {
        const live = options.liveInstances();
        if (live !== null) result.observe(live);
      });
    const { deadLetters } = options;
    if (deadLetters)
      meter
        .createObservableGauge('belfry_dead_letters', {
          description: 'Fires whose last attempt failed with no retry left, not discarded (cluster-wide).',
          unit: '{fire}',
          valueType: ValueType.INT,
        })
        .addCallback((result) => {
          const count = deadLetters();
          if (count !== null) result.observe(count);
        });
  }

  /** Subscribes to the scheduler events that no listener hook covers; returns the unsubscriber. */
  attach(events: SchedulerEventBus): () => void {
    const offs = [
      events.on('trigger:fired', (event) => {
        const attributes = this.#labels(event.group, event.trigger);
        this.#fires.add(1, { ...attributes, outcome: 'fired' });
        this.#lag.record(
          Math.max(0, event.firedAt.getTime() - event.scheduledAt.getTime()) / 1000,
          attributes,
        );
      }),
      events.on('execution:skipped', (event) =>
        this.#fires.add(1, { ...this.#labels(event.group, event.trigger), outcome: 'skipped' }),
      ),
      events.on('acquisition:finished', (event) => {
        this.#roundTrip.record(event.durationMs / 1000);
        if (event.batchSize > 0) this.#batchSize.record(event.batchSize);
      }),
      events.on('execution:recovered', () => this.#recoveries.add(1, { outcome: 'recovered' })),
      events.on('execution:abandoned', () => this.#recoveries.add(1, { outcome: 'abandoned' })),
      events.on('listener:failed', (event) => this.#listenerFailures.add(1, { hook: event.hook })),
    ];
    return () => offs.forEach((off) => off());
  }

  jobWasExecuted(execution: ExecutionInfo, result: ExecutionResult): void {
    const attributes = this.#labels(execution.group, execution.trigger);
    this.#duration.record(result.durationMs / 1000, { ...attributes, status: result.status });
    if (result.status !== 'succeeded') this.#failures.add(1, attributes);
    if (result.retryAfterMs !== null && result.recorded) this.#retries.add(1);
  }

  jobExecutionVetoed(): void {
    this.#vetoes.add(1);
  }

  triggerMisfired(misfire: MisfireInfo): void {
    this.#fires.add(1, { ...this.#labels(misfire.group, misfire.trigger), outcome: 'misfired' });
    this.#misfires.add(1);
  }

  leaderElected(): void {
    this.#leaderChanges.add(1);
  }

  #labels(group: string, trigger: string): Attributes {
    return this.#triggerLabels ? { group, trigger } : { group };
  }
}

/** Registers the built-in metrics: an ordinary listener on every hook, plus the events no hook covers. */
export function attachBuiltinMetrics(
  events: SchedulerEventBus,
  registry: ListenerRegistry,
  options: MetricsListenerOptions,
): void {
  attachBuiltinListener(registry, events, new MetricsListener(options));
}
