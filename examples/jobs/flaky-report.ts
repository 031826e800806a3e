import { setTimeout as sleep } from 'node:timers/promises';
import type { JobContext } from '../../src/jobs/job.js';

/**
 * Fails on attempts 1 and 2 and succeeds on attempt 3, to show retries with backoff in the history.
 * The attempt number comes from the fire, so it behaves the same whichever replica runs each attempt.
 */
export default class FlakyReportJob {
  async execute(ctx: JobContext): Promise<{ attempts: number }> {
    await sleep(100, undefined, { signal: ctx.signal });
    if (ctx.fire.attempt < 3) {
      ctx.logger.warn({ attempt: ctx.fire.attempt }, 'report failed; will retry');
      throw new Error(`report backend unavailable (attempt ${ctx.fire.attempt})`);
    }
    ctx.logger.info({ attempt: ctx.fire.attempt }, 'report written');
    return { attempts: ctx.fire.attempt };
  }
}
