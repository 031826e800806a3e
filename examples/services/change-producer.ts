import type { ServiceContext } from '../../src/index.js';
import { connectDemo, DEMO_SCHEMA, pause } from './change-stream.js';

/** Appends a change to belfry_demo.changes twice a second: the stream the reader tails. */
export default class ChangeProducer {
  async run(ctx: ServiceContext<{ everyMs?: number }>): Promise<void> {
    const client = await connectDemo(ctx.signal);
    ctx.logger.info('change producer started');
    while (!ctx.signal.aborted) {
      await client.query(`INSERT INTO ${DEMO_SCHEMA}.changes (payload) VALUES ($1)`, [
        `order ${Math.floor(Math.random() * 10_000)} placed`,
      ]);
      await pause(ctx.data.everyMs ?? 500, ctx.signal);
    }
  }
}
