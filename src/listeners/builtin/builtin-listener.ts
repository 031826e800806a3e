/**
 * What a built-in listener (the execution log, the metrics) is: an ordinary listener on every hook kind
 * (job, trigger, scheduler), plus subscriptions to the scheduler events that no hook covers (skips,
 * recoveries, acquisitions). One function registers it everywhere and returns the one call that takes it
 * out again.
 */
import type { SchedulerEventBus } from '../../events/scheduler-events.js';
import type { JobListener, SchedulerListener, TriggerListener } from '../listener.js';

export interface BuiltinListener extends JobListener, TriggerListener, SchedulerListener {
  /** Subscribes to the events no hook covers; returns the unsubscriber. */
  attach(events: SchedulerEventBus): () => void;
}

/** Where listeners are registered: the ListenerRegistry, or the Scheduler that forwards to it. */
export interface ListenerTarget {
  addJobListener(listener: JobListener): unknown;
  addTriggerListener(listener: TriggerListener): unknown;
  addSchedulerListener(listener: SchedulerListener): unknown;
  removeJobListener(name: string): unknown;
  removeTriggerListener(name: string): unknown;
  removeSchedulerListener(name: string): unknown;
}

/** Registers the listener on every hook kind and subscribes it to the events; returns its remover. */
export function attachBuiltinListener(
  target: ListenerTarget,
  events: SchedulerEventBus,
  listener: BuiltinListener,
): () => void {
  target.addJobListener(listener);
  target.addTriggerListener(listener);
  target.addSchedulerListener(listener);
  const detach = listener.attach(events);
  return () => {
    detach();
    target.removeJobListener(listener.name);
    target.removeTriggerListener(listener.name);
    target.removeSchedulerListener(listener.name);
  };
}
