/** Writes a continuation trigger (`after:`) through the store, as an apply would. */
import { insertTrigger, type TriggerRecord } from '../../../src/store/definition-store.js';
import type { Executor } from '../../../src/store/executor.js';
import type { AfterSpec } from '../../../src/time/after-spec.js';

export async function defineAfterTrigger(
  executor: Executor,
  name: string,
  job: string,
  spec: Omit<AfterSpec, 'kind'>,
): Promise<void> {
  const trigger: TriggerRecord = {
    name,
    group: 'default',
    job,
    kind: 'after',
    spec: { kind: 'after', ...spec },
    calendarName: null,
    data: null,
    priority: 0,
    startAt: null,
    endAt: null,
    maxFires: null,
    misfirePolicy: 'fire-once-now',
    misfireThresholdMs: 60_000,
    source: 'test',
  };
  await insertTrigger(executor, { trigger, nextFireAt: null, paused: false });
}
