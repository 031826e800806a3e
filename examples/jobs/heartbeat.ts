import { setTimeout as sleep } from 'node:timers/promises';
import type { JobContext } from '../../src/jobs/job.js';

/** Logs a line and sleeps a little, like a small real job would. */
export default class HeartbeatJob {
  async execute(ctx: JobContext): Promise<{ beat: string }> {
    ctx.logger.info({ scheduledAt: ctx.fire.scheduledAt.toISOString() }, 'heartbeat');
    await sleep(100 + Math.floor(Math.random() * 200), undefined, { signal: ctx.signal });
    return { beat: ctx.idempotencyKey };
  }
}
