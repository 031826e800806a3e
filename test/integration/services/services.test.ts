/**
 * Issue 12: long-running services. In-process replicas on one schema (each with its own session): a
 * shard runs on one replica, its checkpoint is fenced by the epoch, a graceful stop hands over within a
 * second, shards spread, crashes restart with backoff and give up, pause and resume, a lost lease aborts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { useTestSchema } from '../../support/schema.js';
import { testScheduler, waitForEvents } from '../../support/scheduler.js';
import type { Scheduler } from '../../../src/scheduler.js';
import type { ServiceContext } from '../../../src/hosted/hosted-service.js';
import { writeCheckpoint } from '../../../src/store/service-store.js';

const database = useTestSchema();
let schedulers: Scheduler[] = [];
const ex = () => ({ db: database.db, schema: database.schema });
const t = (name: string) => sql.table(`${database.schema}.${name}`);

afterEach(async () => {
  await Promise.all(schedulers.map((s) => s.stop({ timeoutMs: 2_000 })));
  schedulers = [];
  await sql`TRUNCATE ${t('services')}, ${t('service_leases')}, ${t('service_members')}, ${t('service_runs')}`.execute(
    database.db,
  );
});

/** Runs until aborted, counting up in its checkpoint every 50 ms. */
class Counter {
  async run(ctx: ServiceContext<Record<string, unknown>, { n: number }>) {
    let n = (await ctx.checkpoint.get())?.n ?? 0;
    while (!ctx.signal.aborted) {
      n += 1;
      await ctx.checkpoint.set({ n }).catch(() => {});
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

function replica(name: string, register: (s: Scheduler) => void): Scheduler {
  const scheduler = testScheduler(database, { instanceName: name });
  register(scheduler);
  schedulers.push(scheduler);
  return scheduler;
}

async function holders(service: string): Promise<Map<number, string | null>> {
  const { rows } = await sql<{ shard: number; holder: string | null }>`
    SELECT shard, holder FROM ${t('service_leases')} WHERE service = ${service} AND expires_at > now()
     ORDER BY shard`.execute(database.db);
  return new Map(rows.map((r) => [r.shard, r.holder]));
}

describe('services', () => {
  it('runs a shard on one replica and refuses a checkpoint write under a stale epoch', async () => {
    const started = new Map<string, number>();
    const a = replica('a', (s) => s.registerService('counter', Counter));
    const b = replica('b', (s) => s.registerService('counter', Counter));
    for (const s of [a, b]) s.on('service:started', (e) => started.set(e.instanceId, e.epoch));
    const first = waitForEvents([a, b], 'service:started', 1);
    await Promise.all([a.start(), b.start()]);
    const [event] = await first;
    expect(event!.epoch).toBe(1);
    const holder = event!.instanceId === a.instanceId ? a : b;
    // A write under epoch 1 by the holder succeeds; an older epoch, or another instance, is refused.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(
      await writeCheckpoint(ex(), {
        instanceId: holder.instanceId,
        service: 'counter',
        shard: 0,
        epoch: 0,
        value: { n: -1 },
      }),
    ).toBe(false);
    const other = holder === a ? b : a;
    expect(
      await writeCheckpoint(ex(), {
        instanceId: other.instanceId,
        service: 'counter',
        shard: 0,
        epoch: 1,
        value: { n: -1 },
      }),
    ).toBe(false);
    const { rows } = await sql<{ n: number; reason: string }>`
      SELECT count(*)::int AS n, max(reason) AS reason FROM ${t('service_history')}
       WHERE reason = 'checkpoint refused'`.execute(database.db);
    expect(rows[0]).toEqual({ n: 2, reason: 'checkpoint refused' });
    // The stale write changed nothing: the checkpoint is still counting up under epoch 1.
    const { rows: cp } = await sql<{ n: number; epoch: string }>`
      SELECT (checkpoint->>'n')::int AS n, checkpoint_epoch AS epoch FROM ${t('service_leases')}`.execute(
      database.db,
    );
    expect(cp[0]!.n).toBeGreaterThan(0);
    expect(Number(cp[0]!.epoch)).toBe(1);
    expect(started.size).toBe(1);
  });

  it('a stale holder whose shard was taken gets ServiceFencedError and its signal aborted', async () => {
    let ctxSeen: ServiceContext | undefined;
    let caught: unknown;
    class Slow {
      async run(ctx: ServiceContext) {
        ctxSeen = ctx;
        await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve()));
      }
    }
    const a = replica('a', (s) => s.registerService('slow', Slow));
    const started = waitForEvents(a, 'service:started', 1);
    await a.start();
    await started;
    // Another instance takes the shard, as after a's lease expired during a stall: epoch 2. (One
    // statement, so a's own next beat cannot take the expired lease back first.)
    const thief = '00000000-0000-4000-8000-000000000001';
    await sql`UPDATE ${t('service_leases')} SET holder = ${thief}::uuid, epoch = epoch + 1,
                     expires_at = now() + interval '1 minute'`.execute(database.db);
    try {
      await ctxSeen!.checkpoint.set({ offset: 1 });
    } catch (error) {
      caught = error;
    }
    expect(caught).toMatchObject({ code: 'BELFRY_ERR_SERVICE_FENCED', epoch: 1 });
    expect(ctxSeen!.signal.aborted).toBe(true);
    expect(ctxSeen!.holdsLease()).toBe(false);
  });

  it('hands over within a second when the holder stops gracefully', async () => {
    const a = replica('a', (s) => s.registerService('counter', Counter));
    const b = replica('b', (s) => s.registerService('counter', Counter));
    const first = waitForEvents([a, b], 'service:started', 1);
    await Promise.all([a.start(), b.start()]);
    const [event] = await first;
    const holder = event!.instanceId === a.instanceId ? a : b;
    const peer = holder === a ? b : a;
    const next = waitForEvents(peer, 'service:started', 1);
    const t0 = performance.now();
    await holder.stop();
    const stoppedAt = performance.now();
    const [moved] = await next;
    const handover = performance.now() - stoppedAt;
    expect(moved!.epoch).toBe(2);
    expect(handover).toBeLessThan(1_000);
    const { rows } = await sql<{ reason: string }>`
      SELECT reason FROM ${t('service_history')} WHERE epoch = 1 AND reason <> 'checkpoint refused'`.execute(
      database.db,
    );
    expect(rows.map((r) => r.reason)).toEqual(['stopped']);
    expect(stoppedAt - t0).toBeLessThan(2_000);
  });

  it('spreads shards: no replica holds more than its fair share, and a joining replica gets its share', async () => {
    const a = replica('a', (s) => s.registerService('sharded', Counter, { shards: 7 }));
    const sevenOnA = waitForEvents(a, 'service:started', 7);
    await a.start();
    await sevenOnA;
    const b = replica('b', (s) => s.registerService('sharded', Counter, { shards: 7 }));
    const c = replica('c', (s) => s.registerService('sharded', Counter, { shards: 7 }));
    await Promise.all([b.start(), c.start()]);
    const deadline = performance.now() + 15_000;
    let counts: number[] = [];
    while (performance.now() < deadline) {
      const held = await holders('sharded');
      counts = [a, b, c].map((s) => [...held.values()].filter((h) => h === s.instanceId).length);
      if (held.size === 7 && Math.max(...counts) <= 3 && Math.min(...counts) >= 2) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(counts.reduce((x, y) => x + y, 0)).toBe(7);
    expect(Math.max(...counts)).toBe(3);
    expect(Math.min(...counts)).toBe(2);
    const { rows } = await sql<{ n: number }>`
      SELECT count(*)::int AS n FROM ${t('service_history')} WHERE reason = 'rebalanced'`.execute(
      database.db,
    );
    expect(rows[0]!.n).toBeGreaterThanOrEqual(4);
  });

  it('restarts a crashing run with backoff, then releases the shard for another replica', async () => {
    let runs = 0;
    class Crashing {
      async run() {
        runs += 1;
        throw new Error('boom');
      }
    }
    const restart = { initialMs: 20, maxMs: 50, maxFailures: 3, windowMs: 10_000 };
    const a = replica('a', (s) => s.registerService('crashing', Crashing, { restart }));
    const ended = waitForEvents(a, 'service:stopped', 3);
    await a.start();
    const reasons = (await ended).map((e) => e.reason);
    expect(reasons).toEqual(['crashed', 'crashed', 'crashed']);
    expect(runs).toBe(3);
    const deadline = performance.now() + 5_000;
    let released: { reason: string }[] = [];
    while (performance.now() < deadline) {
      // The lease first, then the rows: once the shard is released, its runs have ended.
      const free = (await holders('crashing')).size === 0;
      ({ rows: released } = await sql<{ reason: string }>`
        SELECT reason FROM ${t('service_history')} ORDER BY id`.execute(database.db));
      if (free) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(released.map((r) => r.reason)).toEqual(['crashed', 'crashed', 'crashed']);
    expect((await holders('crashing')).size).toBe(0);
    expect(a.serviceStatus()).toEqual([]);
  });

  it('pause stops the run and releases it everywhere; resume runs it again; an unknown name is refused', async () => {
    const a = replica('a', (s) => s.registerService('counter', Counter));
    const started = waitForEvents(a, 'service:started', 1);
    await a.start();
    await started;
    const stopped = waitForEvents(a, 'service:stopped', 1);
    await a.pauseService('counter');
    expect((await stopped)[0]!.reason).toBe('paused');
    const again = waitForEvents(a, 'service:started', 1);
    await a.resumeService('counter');
    expect((await again)[0]!.epoch).toBe(2);
    await expect(a.pauseService('nope')).rejects.toMatchObject({ code: 'BELFRY_ERR_UNKNOWN_SERVICE' });
  });

  it('aborts at once when the lease is lost (the claim no longer answers with it)', async () => {
    class Idle {
      async run(ctx: ServiceContext) {
        await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve()));
      }
    }
    const a = replica('a', (s) => s.registerService('idle', Idle));
    const started = waitForEvents(a, 'service:started', 1);
    await a.start();
    await started;
    const lost = waitForEvents(a, 'service:stopped', 1);
    // Someone else's epoch: the next beat's renewal does not find this holder's lease.
    await sql`UPDATE ${t('service_leases')} SET holder = gen_random_uuid(), epoch = epoch + 1`.execute(
      database.db,
    );
    expect((await lost)[0]!.reason).toBe('lease lost');
  });

  it('rejects invalid registrations', () => {
    const a = replica('a', () => {});
    expect(() => a.registerService('bad/name', Counter)).toThrow(/invalid/);
    expect(() => a.registerService('x', Counter, { shards: 0 })).toThrow(/shards/);
    a.registerService('x', Counter);
    expect(() => a.registerService('x', Counter)).toThrow(/already/);
    expect(() => a.registerService('y', class {} as never)).toThrow(/run/);
  });
});
