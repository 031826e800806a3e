/**
 * One structured log line per fire outcome: the live view of `belfry dev` and the operator's log. It is
 * the built-in LoggingListener (src/listeners/builtin/), registered like any user listener.
 */
import type { Logger } from 'pino';
import { LoggingListener } from '../listeners/builtin/logging-listener.js';
import type { Scheduler } from '../scheduler.js';

export function attachExecutionLog(scheduler: Scheduler, logger: Logger): () => void {
  const listener = new LoggingListener(logger.child({ component: 'executions' }));
  scheduler.addJobListener(listener);
  scheduler.addTriggerListener(listener);
  scheduler.addSchedulerListener(listener);
  const detach = listener.attach(scheduler.events);
  return () => {
    detach();
    scheduler.removeJobListener(listener.name);
    scheduler.removeTriggerListener(listener.name);
    scheduler.removeSchedulerListener(listener.name);
  };
}
