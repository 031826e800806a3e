/** Small builders for test definitions, written through the store like any caller would. */
import type { Executor } from '../../src/store/executor.js';
import { insertTrigger, upsertJob, type TriggerRecord } from '../../src/store/definition-store.js';
import { jobRecordFromOptions } from '../../src/jobs/job-record.js';
import type { JobOptions } from '../../src/jobs/job.js';

export async function defineJob(ex: Executor, name: string, options: JobOptions = {}): Promise<void> {
  await upsertJob(ex, jobRecordFromOptions(name, options, 'test'));
}

export async function defineTrigger(
  ex: Executor,
  partial: Partial<TriggerRecord> & Pick<TriggerRecord, 'name' | 'job' | 'spec'>,
  nextFireAt: Date,
  options: { paused?: boolean } = {},
): Promise<string> {
  const trigger: TriggerRecord = {
    group: 'default',
    kind: (partial.spec as { kind: string }).kind,
    calendarName: null,
    data: null,
    priority: 0,
    startAt: null,
    endAt: null,
    maxFires: null,
    misfirePolicy: 'fire-once-now',
    misfireThresholdMs: 60_000,
    source: 'test',
    ...partial,
  };
  return insertTrigger(ex, { trigger, nextFireAt, paused: options.paused ?? false });
}
