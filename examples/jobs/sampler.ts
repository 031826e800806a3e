import { setTimeout as sleep } from 'node:timers/promises';
import type { JobContext } from '../../src/jobs/job.js';

/** An interval job: reads its data, logs a sample, sleeps a little. */
export default class SamplerJob {
  async execute(ctx: JobContext<{ source?: string }>): Promise<{ source: string; value: number }> {
    const value = Math.round(Math.random() * 100);
    ctx.logger.info({ source: ctx.data.source ?? 'unknown', value }, 'sample taken');
    await sleep(50 + Math.floor(Math.random() * 100), undefined, { signal: ctx.signal });
    return { source: ctx.data.source ?? 'unknown', value };
  }
}
