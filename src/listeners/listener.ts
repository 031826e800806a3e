/**
 * Listener hooks, in the Quartz model: a `JobListener` hears about executions, a `TriggerListener` about
 * fires (and may veto an execution), a `SchedulerListener` about the replica and the cluster.
 *
 * Where each hook runs, in order, for one execution attempt on the replica that runs it:
 *
 *   triggerFired (attempt 1 only) → vetoJobExecution ─ true → [recorded `vetoed`] → jobExecutionVetoed
 *                                                     └ false → jobToBeExecuted → execute(ctx)
 *                                                               → [outcome recorded] → jobWasExecuted → triggerComplete
 *
 * Every hook is optional; a hook may be async. Hooks are awaited, each bounded by the scheduler's
 * `listenerTimeoutMs` (default 5 s). A hook that throws or runs out of time is logged and counted
 * (`belfry_listener_failures_total`) and scheduling goes on as if it had returned nothing: a failed
 * `vetoJobExecution` does not veto. The hooks of one execution run inside its `belfry.execute` span, so
 * spans a listener starts nest under it. `triggerMisfired` and the scheduler hooks run beside the loops
 * (they never hold up acquisition or heartbeats); `schedulerShuttingDown` is awaited before shutdown goes on.
 *
 * The built-in metrics and the execution log (src/listeners/builtin/) are written on these hooks.
 */

/** What a listener sees of one execution attempt. */
export interface ExecutionInfo {
  readonly job: string;
  readonly trigger: string;
  /** The trigger's group. */
  readonly group: string;
  readonly scheduledAt: Date;
  readonly firedAt: Date;
  /** 1 for the first run; retries and recoveries count up. */
  readonly attempt: number;
  readonly fireId: string;
  readonly executionId: string;
  /** The replica running it. */
  readonly instanceId: string;
  /** The job's data as stored (before the job's schema parsed it). */
  readonly data: Readonly<Record<string, unknown>> | null;
  /** The W3C trace id of the fire's trace; null when tracing is off. */
  readonly traceId: string | null;
}

export type ExecutionOutcomeStatus = 'succeeded' | 'failed' | 'timed_out';

export interface ExecutionResult {
  readonly status: ExecutionOutcomeStatus;
  /** What `execute` returned (succeeded only). */
  readonly result: unknown;
  /** What `execute` threw, or the timeout error; undefined when it succeeded. */
  readonly error: unknown;
  readonly durationMs: number;
  /** Set when a retry was scheduled. */
  readonly retryAfterMs: number | null;
  /** False when the outcome was not recorded because the leader had taken the execution away. */
  readonly recorded: boolean;
}

export interface VetoInfo {
  /** The name of the trigger listener that vetoed. */
  readonly listener: string;
}

export interface MisfireInfo {
  readonly trigger: string;
  readonly group: string;
  readonly job: string;
  readonly scheduledAt: Date;
}

type Hook<Args extends unknown[]> = (...args: Args) => void | Promise<void>;

export interface JobListener {
  /** Named in logs and metrics, and recorded in the history as the vetoer; unique among job listeners. */
  readonly name: string;
  jobToBeExecuted?: Hook<[execution: ExecutionInfo]>;
  jobWasExecuted?: Hook<[execution: ExecutionInfo, result: ExecutionResult]>;
  jobExecutionVetoed?: Hook<[execution: ExecutionInfo, veto: VetoInfo]>;
}

export interface TriggerListener {
  readonly name: string;
  /** The trigger fired and its job is about to run (called once per fire, on the replica running attempt 1). */
  triggerFired?: Hook<[execution: ExecutionInfo]>;
  /** Return true to veto this attempt: it is recorded as `vetoed` and the job does not run. */
  vetoJobExecution?: (execution: ExecutionInfo) => boolean | Promise<boolean>;
  /** Called on the replica that recorded the misfire. */
  triggerMisfired?: Hook<[misfire: MisfireInfo]>;
  triggerComplete?: Hook<[execution: ExecutionInfo, result: ExecutionResult]>;
}

/** What `pause`/`resume` targeted (a trigger, a job, a trigger group, or all), and how many triggers changed. */
export interface PauseInfo {
  readonly target: { trigger?: string; job?: string; group?: string; all?: boolean };
  readonly count: number;
}

export interface SchedulerListener {
  readonly name: string;
  schedulerStarted?: Hook<[event: { instanceId: string }]>;
  schedulerShuttingDown?: Hook<[event: { instanceId: string }]>;
  leaderElected?: Hook<[event: { instanceId: string; epoch: number }]>;
  leaderLost?: Hook<[event: { instanceId: string; epoch: number; reason: string }]>;
  /** This replica registered (at start, and again after it was fenced). */
  instanceJoined?: Hook<[event: { instanceId: string; name: string }]>;
  /** Called on the leader when it declares a replica dead. */
  instanceDead?: Hook<[event: { instanceId: string; name: string; reason: string }]>;
  /** Called on the replica where `pause()`/`resume()` was called. */
  triggerPaused?: Hook<[event: PauseInfo]>;
  triggerResumed?: Hook<[event: PauseInfo]>;
  /** A background loop failed (it backs off and goes on). */
  schedulerError?: Hook<[event: { service: string; error: unknown }]>;
}

export type SchedulerHook = Exclude<keyof SchedulerListener, 'name'>;
