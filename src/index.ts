/**
 * Belfry's public API. Everything a user may import is listed here by name; nothing else is a contract.
 */
export { createScheduler, Scheduler, DEFAULT_TIMINGS, BELFRY_VERSION } from './scheduler.js';
export type { SchedulerOptions, SchedulerHealth, ClusterTimings } from './scheduler.js';
export { PermanentJobError, idempotencyKey } from './jobs/job.js';
export { BelfryError } from './errors/belfry-error.js';
export { ERROR_CODES, RETIRED_ERROR_CODES } from './errors/error-codes.js';
export type { ErrorCode, ErrorCodeInfo } from './errors/error-codes.js';
export type { Job, JobClass, JobContext, JobOptions, FireInfo, UpstreamOutcome } from './jobs/job.js';
export { UnknownExecutionError, WrongStateError } from './operations/execution-operations.js';
export type {
  BulkRetryResult,
  CancelResult,
  DeadLetter,
  DeadLetterFilter,
  RequestedAttempt,
} from './operations/execution-operations.js';
export { BackfillError } from './operations/backfill-operations.js';
export type { BackfillRequest, BackfillResult } from './operations/backfill-operations.js';
export type { AfterSpec, AfterOutcome } from './time/after-spec.js';
export type { SchedulerEvents, SchedulerEventName, ExecutionEvent } from './events/scheduler-events.js';
export type { PauseTarget } from './store/definition-store.js';
export type { HistoryFilter, HistoryRow } from './store/history-store.js';
export type { ExecutionStatus } from './store/tables.js';
export { compileSchedule, ScheduleError } from './time/schedule.js';
export type { ScheduleSpec, Schedule } from './time/schedule.js';
export type { CalendarSpec } from './time/calendar.js';
export { parseDuration } from './time/duration.js';
export type { Clock } from './time/clock.js';
export { migrate } from './store/migrator.js';
export { ServiceFencedError } from './hosted/hosted-service.js';
export type {
  HostedService,
  HostedServiceClass,
  ServiceContext,
  ServiceCheckpoint,
  ServiceOptions,
  ServiceRestartPolicy,
  ServicePlacement,
  ServiceHealthStatus,
} from './hosted/hosted-service.js';
export type { LocalShardStatus } from './hosted/service-host.js';
export type {
  JobListener,
  TriggerListener,
  SchedulerListener,
  ExecutionInfo,
  ExecutionResult,
  VetoInfo,
  MisfireInfo,
  PauseInfo,
} from './listeners/listener.js';
export type { ListenerMatcher } from './listeners/listener-matcher.js';
