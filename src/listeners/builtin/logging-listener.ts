/**
 * The execution log, written as an ordinary listener: one structured line per outcome, veto and misfire,
 * plus the cluster's notable moments. `belfry dev` parses these lines (src/cli/dev-command.ts), so the
 * `msg` texts and field names are a contract: `execution finished` with trigger, job, scheduledAt,
 * attempt, status, durationMs, retryInMs, error.
 *
 * The job hooks run inside the execution's span, so with tracing on every line carries trace_id and
 * span_id (added by the logger's mixin, src/observability/log-trace-context.ts).
 */
import type { Logger } from 'pino';
import type { SchedulerEventBus } from '../../events/scheduler-events.js';
import type { ExecutionInfo, ExecutionResult, MisfireInfo, VetoInfo } from '../listener.js';
import type { BuiltinListener } from './builtin-listener.js';

export class LoggingListener implements BuiltinListener {
  readonly name = 'belfry.log';

  constructor(private readonly log: Logger) {}

  /** Subscribes to the events no hook covers (skips, recoveries); returns the unsubscriber. */
  attach(events: SchedulerEventBus): () => void {
    const offs = [
      events.on('execution:skipped', (event) =>
        this.log.info(
          {
            trigger: event.trigger,
            job: event.job,
            scheduledAt: event.scheduledAt.toISOString(),
            status: 'skipped',
            reason: event.reason,
          },
          'execution skipped',
        ),
      ),
      events.on('execution:recovered', (event) =>
        this.log.warn({ executionId: event.executionId, job: event.job }, 'execution re-dispatched'),
      ),
      events.on('execution:abandoned', (event) =>
        this.log.warn({ executionId: event.executionId, job: event.job }, 'execution abandoned'),
      ),
    ];
    return () => offs.forEach((off) => off());
  }

  jobWasExecuted(execution: ExecutionInfo, result: ExecutionResult): void {
    this.log.info(
      {
        trigger: execution.trigger,
        job: execution.job,
        scheduledAt: execution.scheduledAt.toISOString(),
        attempt: execution.attempt,
        status: result.status,
        durationMs: result.durationMs,
        retryInMs: result.retryAfterMs ?? undefined,
        error: result.status === 'succeeded' ? undefined : describe(result.error),
      },
      'execution finished',
    );
  }

  jobExecutionVetoed(execution: ExecutionInfo, veto: VetoInfo): void {
    this.log.info(
      {
        trigger: execution.trigger,
        job: execution.job,
        scheduledAt: execution.scheduledAt.toISOString(),
        attempt: execution.attempt,
        status: 'vetoed',
        error: `vetoed by listener ${veto.listener}`,
      },
      'execution finished',
    );
  }

  triggerMisfired(misfire: MisfireInfo): void {
    this.log.warn(
      {
        trigger: misfire.trigger,
        job: misfire.job,
        scheduledAt: misfire.scheduledAt.toISOString(),
        status: 'misfired',
      },
      'trigger misfired',
    );
  }

  leaderElected(event: { epoch: number }): void {
    this.log.info({ epoch: event.epoch }, 'leader elected');
  }

  leaderLost(event: { epoch: number; reason: string }): void {
    this.log.warn({ epoch: event.epoch, reason: event.reason }, 'leadership lost');
  }

  instanceDead(event: { name: string; reason: string }): void {
    this.log.warn({ dead: event.name, reason: event.reason }, 'instance declared dead');
  }
}

function describe(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`.slice(0, 4_000);
  return String(error).slice(0, 4_000);
}
