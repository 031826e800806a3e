/** Pure builders of job and trigger records (as YAML defines them), for tests of planning and diffing. */
import type { JobRecord, TriggerRecord } from '../../src/store/definition-store.js';

export function jobRecord(name: string, changes: Partial<JobRecord> = {}): JobRecord {
  return {
    name,
    module: `./jobs/${name}.ts`,
    exportName: 'default',
    description: null,
    data: {},
    concurrency: 'allow',
    timeoutMs: 30_000,
    maxAttempts: 1,
    backoff: { initialMs: 1_000, maxMs: 300_000, factor: 2 },
    recover: false,
    source: 'yaml',
    ...changes,
  };
}

/** A trigger of the job `report`, a daily 02:00 UTC cron, unless `changes` say otherwise. */
export function triggerRecord(name: string, changes: Partial<TriggerRecord> = {}): TriggerRecord {
  return {
    name,
    group: 'default',
    job: 'report',
    kind: 'cron',
    spec: { kind: 'cron', expression: '0 2 * * *', timezone: 'UTC' },
    calendarName: null,
    data: null,
    priority: 0,
    startAt: null,
    endAt: null,
    maxFires: null,
    misfirePolicy: 'fire-once-now',
    misfireThresholdMs: 60_000,
    source: 'yaml',
    ...changes,
  };
}
