/** One structured log line per fire and per outcome: the live view of `belfry dev` and the operator's log. */
import type { Logger } from 'pino';
import type { Scheduler } from '../scheduler.js';

export function attachExecutionLog(scheduler: Scheduler, logger: Logger): void {
  const log = logger.child({ component: 'executions' });
  scheduler.on('execution:finished', (event) =>
    log.info(
      {
        trigger: event.trigger,
        job: event.job,
        scheduledAt: event.scheduledAt.toISOString(),
        attempt: event.attempt,
        status: event.status,
        durationMs: event.durationMs,
        retryInMs: event.retryAfterMs ?? undefined,
        error: event.error ?? undefined,
      },
      'execution finished',
    ),
  );
  scheduler.on('execution:skipped', (event) => log.info({ trigger: event.trigger, job: event.job, scheduledAt: event.scheduledAt.toISOString(), status: 'skipped', reason: event.reason }, 'execution skipped'));
  scheduler.on('trigger:misfired', (event) => log.warn({ trigger: event.trigger, job: event.job, scheduledAt: event.scheduledAt.toISOString(), status: 'misfired' }, 'trigger misfired'));
  scheduler.on('leader:elected', (event) => log.info({ epoch: event.epoch }, 'leader elected'));
  scheduler.on('leader:lost', (event) => log.warn({ epoch: event.epoch, reason: event.reason }, 'leadership lost'));
  scheduler.on('instance:dead', (event) => log.warn({ dead: event.name, reason: event.reason }, 'instance declared dead'));
  scheduler.on('execution:recovered', (event) => log.warn({ executionId: event.executionId, job: event.job }, 'execution re-dispatched'));
  scheduler.on('execution:abandoned', (event) => log.warn({ executionId: event.executionId, job: event.job }, 'execution abandoned'));
}
