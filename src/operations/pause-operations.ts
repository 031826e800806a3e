/** Pause and resume: a trigger, every trigger of a job or a group, or all of them (standby). */
import { setTriggersPaused, type PauseTarget } from '../store/definition-store.js';
import { inTransaction, type Executor } from '../store/executor.js';
import { requirePauseTarget } from './name-checks.js';

/**
 * Pauses or resumes in one transaction that checks the target's name first (an unknown name writes
 * nothing). Returns how many triggers changed state: 0 when all already were in that state.
 */
export async function setPaused(
  ex: Executor,
  params: { target: PauseTarget; paused: boolean },
): Promise<number> {
  return inTransaction(ex, async (tx) => {
    await requirePauseTarget(tx, params.target);
    return setTriggersPaused(tx, params);
  });
}
