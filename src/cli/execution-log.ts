/**
 * One structured log line per fire outcome: the live view of `belfry dev` and the operator's log. It is
 * the built-in LoggingListener (src/listeners/builtin/), registered like any user listener.
 */
import type { Logger } from 'pino';
import { attachBuiltinListener } from '../listeners/builtin/builtin-listener.js';
import { LoggingListener } from '../listeners/builtin/logging-listener.js';
import type { Scheduler } from '../scheduler.js';

export function attachExecutionLog(scheduler: Scheduler, logger: Logger): () => void {
  const listener = new LoggingListener(logger.child({ component: 'executions' }));
  return attachBuiltinListener(scheduler, scheduler.events, listener);
}
