/** Kysely's view of Belfry's tables (migrations/ is the source of truth; keep the two in step). */
import type { ColumnType, Generated } from 'kysely';

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
type Json<T = unknown> = ColumnType<T, string | T, string | T>;

export interface InstancesTable {
  id: string;
  name: string;
  host: string;
  pid: number;
  version: string;
  lock_key: number;
  started_at: Timestamp;
  last_checkin_at: Timestamp;
  stopped_at: NullableTimestamp;
  state: 'active' | 'stopped' | 'dead';
  dead_reason: string | null;
}

export interface LeaderTable {
  id: Generated<number>;
  holder: string | null;
  epoch: ColumnType<string, string | number, string | number>;
  acquired_at: NullableTimestamp;
  expires_at: NullableTimestamp;
}

export interface LeaderTermsTable {
  epoch: ColumnType<string, string | number, string | number>;
  holder: string;
  acquired_at: Timestamp;
  ended_at: NullableTimestamp;
  end_reason: string | null;
}

export interface JobsTable {
  name: string;
  module: string | null;
  export_name: string | null;
  description: string | null;
  data: Json<Record<string, unknown>>;
  concurrency: 'allow' | 'forbid';
  timeout_ms: number | null;
  max_attempts: number;
  backoff: Json<Record<string, unknown>>;
  recover: boolean;
  paused: Generated<boolean>;
  source: string;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface CalendarsTable {
  name: string;
  spec: Json;
  source: string;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface TriggersTable {
  id: ColumnType<string, never, never>;
  name: string;
  group_name: string;
  job_name: string;
  kind: string;
  spec: Json;
  calendar_name: string | null;
  data: Json<Record<string, unknown> | null>;
  priority: number;
  state: 'waiting' | 'paused' | 'complete';
  next_fire_at: NullableTimestamp;
  previous_fire_at: NullableTimestamp;
  start_at: NullableTimestamp;
  end_at: NullableTimestamp;
  max_fires: ColumnType<string | null, number | null | undefined, number | null>;
  times_fired: ColumnType<string, number | undefined, number>;
  misfire_policy: 'fire-once-now' | 'fire-all' | 'skip';
  misfire_threshold_ms: number;
  source: string;
  version: Generated<number>;
  /** A schedule change waiting for the planner (migrations/0003). */
  replan_at: NullableTimestamp;
  /** The misfire decision of the outage being walked (migrations/0003). */
  misfire_until: NullableTimestamp;
  /** The schedules a pending change replaced: [{spec, until}], oldest first (migrations/0007). */
  superseded_schedules: ColumnType<unknown, string | null | undefined, unknown>;
  /** Why the engine paused the trigger; null for an operator's pause (migrations/0003). */
  paused_reason: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface FiresTable {
  id: ColumnType<string, never, never>;
  trigger_id: string | null;
  trigger_name: string;
  trigger_group: string;
  job_name: string;
  scheduled_at: Timestamp;
  fired_at: Timestamp;
  instance_id: string | null;
  data: Json<Record<string, unknown> | null>;
  trace_context: Json<Record<string, string> | null>;
  /** Where the fire came from (migrations/0009). */
  origin: ColumnType<FireOrigin, FireOrigin | undefined, FireOrigin>;
  /** The `after:` trigger of a continuation or fan-in fire (migrations/0009). */
  after_trigger_id: string | null;
  upstream_fire_id: string | null;
  upstream_fire_ids: ColumnType<string[] | null, string[] | null | undefined, string[] | null>;
  backfill_overlap: 'skip' | 'allow' | null;
  dead_letter_discarded_at: NullableTimestamp;
  dead_letter_discarded_by: string | null;
}

export type FireOrigin = 'schedule' | 'continuation' | 'fan-in' | 'backfill';

/** A fan-in's upstream successes so far for one schedule time (migrations/0009). */
export interface FanInArrivalsTable {
  after_trigger_id: string;
  scheduled_at: Timestamp;
  jobs: string[];
  fire_ids: string[];
  first_at: Timestamp;
  updated_at: Timestamp;
}

export type ExecutionStatus =
  | 'pending'
  | 'running'
  | 'succeeded'
  | 'failed'
  | 'timed_out'
  | 'skipped'
  | 'vetoed'
  | 'misfired'
  | 'recovered'
  | 'abandoned'
  | 'cancelled';

export interface ExecutionsTable {
  id: ColumnType<string, never, never>;
  fire_id: string;
  attempt: number;
  job_name: string;
  status: ExecutionStatus;
  instance_id: string | null;
  run_at: Timestamp;
  started_at: NullableTimestamp;
  finished_at: NullableTimestamp;
  error: string | null;
  result: Json | null;
  trace_id: string | null;
  leader_epoch: string | null;
  /** An operator's retry, re-run or cancel, and who asked (migrations/0009). */
  requested: 'retry' | 'rerun' | 'cancel' | null;
  requested_by: string | null;
  /** Its fire's scheduled_at, the partition key (migrations/0011): written by every insert. */
  scheduled_at: Timestamp;
}

export interface JobHistoryView {
  execution_id: string;
  fire_id: string;
  job: string;
  trigger: string;
  trigger_group: string;
  scheduled_at: Date;
  fired_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
  lag_ms: string | null;
  duration_ms: string | null;
  instance: string | null;
  instance_id: string | null;
  attempt: number;
  status: ExecutionStatus;
  error: string | null;
  trace_id: string | null;
  result: unknown;
  origin: FireOrigin;
  requested: 'retry' | 'rerun' | 'cancel' | null;
  requested_by: string | null;
  upstream_fire_id: string | null;
  dead_letter_discarded_at: Date | null;
}

export interface SchemaMigrationsTable {
  version: number;
  name: string;
  checksum: string;
  applied_at: Timestamp;
}

/** The admin API's audit trail (migrations/0005): one row per state-changing call that reached a handler. */
export interface AdminAuditTable {
  /** bigserial, read as text (admin-audit-store.ts casts it) so no id loses precision in JavaScript. */
  id: ColumnType<string, never, never>;
  at: Timestamp;
  actor: string;
  scope: string;
  method: string;
  operation: string;
  path: string;
  target: Json<Record<string, unknown> | null>;
  status: number;
  remote_address: string | null;
  user_agent: string | null;
  instance_id: string | null;
}

export interface Database {
  instances: InstancesTable;
  leader: LeaderTable;
  leader_terms: LeaderTermsTable;
  jobs: JobsTable;
  calendars: CalendarsTable;
  triggers: TriggersTable;
  fires: FiresTable;
  executions: ExecutionsTable;
  fan_in_arrivals: FanInArrivalsTable;
  job_history: JobHistoryView;
  schema_migrations: SchemaMigrationsTable;
  admin_audit: AdminAuditTable;
}
