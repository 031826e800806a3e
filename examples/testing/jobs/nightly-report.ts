import { z } from 'zod';
import type { JobContext } from '../../../src/jobs/job.js';

const schema = z.object({
  desk: z.string().min(1),
  format: z.enum(['pdf', 'xlsx']).default('pdf'),
  /** For the example's timeout test: how long "building" takes. */
  buildMs: z.number().int().nonnegative().default(0),
});
type ReportData = z.infer<typeof schema>;

/** Builds a report for a desk; the idempotency key names the file, so a re-run overwrites, never doubles. */
export default class NightlyReport {
  static schema = schema;

  async execute(ctx: JobContext<ReportData>): Promise<{ file: string }> {
    const file = `${ctx.data.desk}-${ctx.fire.scheduledAt.toISOString().slice(0, 10)}.${ctx.data.format}`;
    ctx.logger.info({ file, key: ctx.idempotencyKey }, 'building report');
    if (ctx.data.buildMs > 0)
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(resolve, ctx.data.buildMs);
        ctx.signal.addEventListener('abort', () => (clearTimeout(timer), reject(ctx.signal.reason)), {
          once: true,
        });
      });
    return { file };
  }
}
