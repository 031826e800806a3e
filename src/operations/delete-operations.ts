/** Deleting a trigger or a job. History is kept: a fire's trigger reference is cleared, not the fire. */
import { deleteJob, deleteTriggers, listTriggers } from '../store/definition-store.js';
import { inTransaction, type Executor } from '../store/executor.js';
import { UnknownNameError } from './name-checks.js';

export async function removeTrigger(ex: Executor, name: string): Promise<void> {
  await inTransaction(ex, async (tx) => {
    // The delete's own count is the name check: no row, no such trigger, and nothing was written.
    if ((await deleteTriggers(tx, { names: [name] })) === 0) throw new UnknownNameError('trigger', name);
  });
}

/** Deletes a job and its triggers; returns how many triggers went with it. */
export async function removeJob(ex: Executor, name: string): Promise<{ triggers: number }> {
  return inTransaction(ex, async (tx) => {
    const triggers = await listTriggers(tx, { job: name, includeComplete: true });
    if (!(await deleteJob(tx, { name }))) throw new UnknownNameError('job', name);
    return { triggers: triggers.length };
  });
}
