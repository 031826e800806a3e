import type pg from 'pg';
import type { ServiceContext } from '../../src/index.js';
import { connectDemo, DEMO_SCHEMA, pause } from './change-stream.js';

interface Cursor {
  /** The last change id this shard delivered. */
  lastId: number;
}

/**
 * A change-stream reader (a CDC consumer): shard k of n tails belfry_demo.changes for ids ≡ k (mod n)
 * through a cursor, delivers each change, and moves its cursor forward through the fenced checkpoint.
 *
 * Exactly one replica runs a shard at a time; if that replica dies or stops, another takes the shard
 * over with a higher epoch and resumes from the checkpoint. The delivery itself is fenced with ctx.epoch
 * (docs/services.md, "Fencing your own writes"): a holder that stalled and woke up after the handover
 * cannot deliver, because the fence row already carries a higher epoch.
 */
export default class ChangeStreamReader {
  async run(ctx: ServiceContext<{ batch?: number }, Cursor>): Promise<void> {
    const client = await connectDemo(ctx.signal);
    let lastId = (await ctx.checkpoint.get())?.lastId ?? 0;
    ctx.logger.info(
      { shard: ctx.shard, epoch: ctx.epoch, lastId },
      'change reader resumed from its checkpoint',
    );
    while (!ctx.signal.aborted) {
      const { rows } = await client.query<{ id: string; payload: string }>(
        `SELECT id, payload FROM ${DEMO_SCHEMA}.changes
          WHERE id > $1 AND id % $2 = $3 ORDER BY id LIMIT $4`,
        [lastId, ctx.shards, ctx.shard, ctx.data.batch ?? 100],
      );
      if (rows.length > 0) {
        const ids = rows.map((r) => Number(r.id));
        await deliver(client, ctx, ids);
        lastId = ids[ids.length - 1]!;
        // Fenced: refused (ServiceFencedError) if another replica took this shard since this run began.
        await ctx.checkpoint.set({ lastId });
        ctx.health('healthy', { lastId });
        ctx.logger.info(
          { shard: ctx.shard, epoch: ctx.epoch, delivered: ids.length, lastId },
          'changes delivered',
        );
      }
      await pause(1_000, ctx.signal);
    }
  }
}

/** Delivers in one transaction that first raises the shard's fence to this epoch, or delivers nothing. */
async function deliver(client: pg.Client, ctx: ServiceContext, ids: number[]): Promise<void> {
  await client.query('BEGIN');
  try {
    const fence = await client.query(
      `INSERT INTO ${DEMO_SCHEMA}.fences (shard, epoch) VALUES ($1, $2)
       ON CONFLICT (shard) DO UPDATE SET epoch = EXCLUDED.epoch WHERE fences.epoch <= EXCLUDED.epoch
       RETURNING epoch`,
      [ctx.shard, ctx.epoch],
    );
    if (fence.rowCount === 0)
      throw new Error(`shard ${ctx.shard}: epoch ${ctx.epoch} is stale; not delivering`);
    await client.query(
      `INSERT INTO ${DEMO_SCHEMA}.deliveries (change_id, shard, epoch)
       SELECT unnest($1::bigint[]), $2, $3 ON CONFLICT (change_id) DO NOTHING`,
      [ids, ctx.shard, ctx.epoch],
    );
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  }
}
