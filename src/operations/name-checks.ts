/**
 * The one place that decides whether a name given to an admin operation exists. The library
 * (Scheduler), the admin API and the CLI all reach these checks through src/operations/, so an unknown
 * trigger, job or group is refused the same way everywhere: an UnknownNameError
 * (BELFRY_ERR_UNKNOWN_NAME), raised before anything is written.
 */
import { BelfryError } from '../errors/belfry-error.js';
import { listJobs, listTriggers, type PauseTarget, type StoredTrigger } from '../store/definition-store.js';
import { sqlState } from '../store/errors.js';
import type { Executor } from '../store/executor.js';

export class UnknownNameError extends BelfryError {
  constructor(
    readonly kind: 'trigger' | 'job' | 'group',
    readonly unknownName: string,
  ) {
    super('BELFRY_ERR_UNKNOWN_NAME', `unknown ${kind} "${unknownName}"`);
  }
}

/** A trigger by name, completed ones included. */
export async function requireTrigger(ex: Executor, name: string): Promise<StoredTrigger> {
  const [trigger] = await listTriggers(ex, { names: [name], includeComplete: true });
  if (!trigger) throw new UnknownNameError('trigger', name);
  return trigger;
}

export async function requireJob(ex: Executor, name: string): Promise<void> {
  if (!(await listJobs(ex)).some((job) => job.name === name)) throw new UnknownNameError('job', name);
}

/** A group exists while at least one trigger (completed ones included) belongs to it. */
export async function requireGroup(ex: Executor, name: string): Promise<void> {
  const triggers = await listTriggers(ex, { group: name, includeComplete: true });
  if (triggers.length === 0) throw new UnknownNameError('group', name);
}

/** `{ all: true }` names nothing, so it always passes. */
export async function requirePauseTarget(ex: Executor, target: PauseTarget): Promise<void> {
  if ('trigger' in target) await requireTrigger(ex, target.trigger);
  else if ('job' in target) await requireJob(ex, target.job);
  else if ('group' in target) await requireGroup(ex, target.group);
}

/**
 * Turns a foreign-key violation from a write that names `job` into the same refusal `requireJob` gives.
 * Used where the write itself is the check (a one-off fire: the trigger's job_name references jobs), so
 * the hot `fireNow` path pays no extra round trip for it.
 */
export function unknownJobFromForeignKey(error: unknown, job: string): unknown {
  return sqlState(error) === '23503' ? new UnknownNameError('job', job) : error;
}
