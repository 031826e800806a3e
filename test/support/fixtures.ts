/** Small builders for test definitions, written through the store like any caller would. */
import type { Executor } from '../../src/store/executor.js';
import { insertTrigger, upsertJob, type TriggerRecord } from '../../src/store/definition-store.js';
import { jobRecordFromOptions } from '../../src/jobs/job-record.js';
import type { JobOptions } from '../../src/jobs/job.js';
import { triggerRecord } from './definition-records.js';

export async function defineJob(ex: Executor, name: string, options: JobOptions = {}): Promise<void> {
  await upsertJob(ex, jobRecordFromOptions(name, options, 'test'));
}

export async function defineTrigger(
  ex: Executor,
  partial: Partial<TriggerRecord> & Pick<TriggerRecord, 'name' | 'job' | 'spec'>,
  nextFireAt: Date,
  options: { paused?: boolean } = {},
): Promise<string> {
  const trigger = triggerRecord(partial.name, {
    kind: (partial.spec as { kind: string }).kind,
    source: 'test',
    ...partial,
  });
  return insertTrigger(ex, { trigger, nextFireAt, paused: options.paused ?? false });
}
