/**
 * Scheduler listeners hear the scheduler's events beside the loops: a slow listener never delays a
 * heartbeat or an acquisition.
 */
import type { SchedulerEventBus } from '../events/scheduler-events.js';
import type { ListenerRegistry } from './listener-registry.js';

export function bridgeSchedulerListeners(events: SchedulerEventBus, listeners: ListenerRegistry): void {
  events.on('scheduler:started', (e) => listeners.notifySchedulerInBackground('schedulerStarted', e));
  events.on('leader:elected', (e) => listeners.notifySchedulerInBackground('leaderElected', e));
  events.on('leader:lost', (e) => listeners.notifySchedulerInBackground('leaderLost', e));
  events.on('instance:joined', (e) => listeners.notifySchedulerInBackground('instanceJoined', e));
  events.on('instance:dead', (e) => listeners.notifySchedulerInBackground('instanceDead', e));
  events.on('trigger:paused', (e) => listeners.notifySchedulerInBackground('triggerPaused', e));
  events.on('trigger:resumed', (e) => listeners.notifySchedulerInBackground('triggerResumed', e));
  events.on('scheduler:error', (e) => listeners.notifySchedulerInBackground('schedulerError', e));
  events.on('trigger:misfired', (e) =>
    listeners.triggerMisfired({ trigger: e.trigger, group: e.group, job: e.job, scheduledAt: e.scheduledAt }),
  );
}
