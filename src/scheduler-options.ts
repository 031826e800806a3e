/** The options a scheduler is built with, and the health it reports. */
import type { ReplicationGuarantee } from './store/replication-guarantee.js';
import type { MeterProvider, TracerProvider } from '@opentelemetry/api';
import type { Logger } from 'pino';
import type { ClusterTimings } from './cluster/cluster-membership.js';
import type { PlanLimits } from './engine/fire-planner.js';
import type { BelfryDatabase } from './store/database.js';
import type { DueTrigger } from './store/fire-store.js';
import type { Clock } from './time/clock.js';
import type { LocalShardStatus } from './hosted/service-host.js';
import type { Schedule, ScheduleSpec } from './time/schedule.js';

/**
 * Executions at once per replica when none is given. Jobs are I/O-bound and Node runs them concurrently,
 * so a thread-pool habit of 10 starves the acquirer: a replica's cycle is acquire, run, record, free, and
 * throughput is replicas × concurrency / cycle. 200 was the fastest drain in every sitting of the sweep
 * in docs/performance.md (4.6–8.2× the rate at 10, with the same memory and connections); set 10 for the
 * old behaviour.
 */
export const DEFAULT_CONCURRENCY = 200;

export interface SchedulerOptions {
  /** A PostgreSQL URL, or an opened database (the caller then owns closing it). */
  connectionString?: string;
  database?: BelfryDatabase;
  /** A direct (not transaction-pooled) URL for the LISTEN/advisory-lock session; default: connectionString. */
  sessionConnectionString?: string;
  schema?: string;
  instanceName?: string;
  /** Executions run at once on this replica (default `DEFAULT_CONCURRENCY`). */
  concurrency?: number;
  batchSize?: number;
  maxIdleMs?: number;
  shutdownTimeoutMs?: number;
  timings?: Partial<ClusterTimings>;
  planLimits?: PlanLimits;
  /**
   * Acquire triggers this many ms before they are due and start them on time by the local monotonic
   * clock (Quartz's fire-ahead window), so acquisition latency does not become fire lag. Default 20.
   */
  fireAheadMs?: number;
  /** History older than this is deleted by the leader, in bounded batches. Default 90 days. */
  historyRetentionMs?: number;
  /**
   * The leader keeps the history's weekly partitions created two weeks ahead (decision 0011). Default
   * true; false leaves new weeks to the default partition: for the testing kit, whose clock crosses a
   * year of weeks in seconds and would spend them creating partitions.
   */
  createHistoryPartitions?: boolean;
  /** Apply migrations at start (under an advisory lock). Default true. */
  migrate?: boolean;
  clock?: Clock;
  logger?: Logger;
  /** Builds a stored trigger's schedule; the default resolves calendars from the database, then the shipped ones. */
  compileSchedule?: (spec: ScheduleSpec, trigger: DueTrigger) => Schedule;
  /** How long an async listener hook may take before it is given up on (logged, counted). Default 5 s. */
  listenerTimeoutMs?: number;
  /** Spans `belfry.fire`/`belfry.execute`; default: the global tracer provider (a no-op without an SDK). */
  tracerProvider?: TracerProvider;
  /** The built-in metrics; default: the global meter provider as it is when the scheduler is built. */
  meterProvider?: MeterProvider;
  /** Metric options: `triggerLabels` adds a per-trigger label (opt-in: cardinality grows with triggers). */
  metrics?: { triggerLabels?: boolean };
  /** This replica's labels, matched by a service's `placement` (docs/services.md). */
  labels?: Record<string, string>;
}

export interface SchedulerHealth {
  alive: boolean;
  ready: boolean;
  databaseReachable: boolean;
  migrationsCurrent: boolean;
  shuttingDown: boolean;
  isLeader: boolean;
  instanceId: string;
  /** The service shards this replica runs, with their health (never affects `ready`). */
  services?: LocalShardStatus[];
  /** What the database's replication guarantees across a failover (read at start; never affects `ready`). */
  replication?: ReplicationGuarantee;
}
