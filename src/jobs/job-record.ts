/** A job's options as the row stored in `jobs`. */
import type { JobRecord } from '../store/definition-store.js';
import type { JobOptions } from './job.js';
import { resolveBackoff } from './retry-policy.js';

export function jobRecordFromOptions(
  name: string,
  options: JobOptions,
  source: string,
  module: { module?: string; exportName?: string } = {},
): JobRecord {
  return {
    name,
    module: module.module ?? null,
    exportName: module.exportName ?? null,
    description: options.description ?? null,
    data: options.data ?? {},
    concurrency: options.concurrency ?? 'allow',
    timeoutMs: options.timeoutMs ?? null,
    maxAttempts: options.maxAttempts ?? 1,
    backoff: resolveBackoff(options.backoff),
    recover: options.recover ?? false,
    source,
  };
}
