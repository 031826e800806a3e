/**
 * The executor pool's slots, outcomes and drain (issue 18 item 7), on a ManualClock: what each attempt
 * records, when a slot frees, and what drain waits for, hands back or cuts off at its deadline.
 */
import pino from 'pino';
import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { ExecutorPool, type Dispatch } from '../../../src/engine/executor-pool.js';
import { SchedulerEventBus } from '../../../src/events/scheduler-events.js';
import { JobRegistry } from '../../../src/jobs/job-registry.js';
import type { JobContext } from '../../../src/jobs/job.js';
import type { ExecutionOutcome } from '../../../src/store/execution-store.js';
import { InstanceIdentity } from '../../../src/cluster/instance-identity.js';
import { ManualClock } from '../../support/manual-clock.js';

const ID = '00000000-0000-4000-8000-000000000002';

/** A job whose runs the test ends by hand. */
class Held {
  static runs: Array<{
    ctx: JobContext<never>;
    finish: (value?: unknown) => void;
    fail: (e: unknown) => void;
  }> = [];
  execute(ctx: JobContext<never>) {
    return new Promise((resolve, reject) => Held.runs.push({ ctx, finish: resolve, fail: reject }));
  }
}

class Strict {
  static schema = z.object({ to: z.string() });
  execute() {}
}

function setup(slots = 2) {
  Held.runs = [];
  const clock = new ManualClock();
  const registry = new JobRegistry();
  registry.register({ name: 'held', jobClass: Held as never, options: {}, source: 'code' });
  registry.register({ name: 'strict', jobClass: Strict as never, options: {}, source: 'code' });
  const recorded: ExecutionOutcome[] = [];
  const identity = new InstanceIdentity({
    clock,
    deadAfterMs: 600_000,
    sessionGraceMs: 600_000,
    onUnknown: () => {},
  });
  identity.sessionUp(0);
  identity.registered(ID, 0);
  let slotsFreed = 0;
  const pool = new ExecutorPool({
    slots,
    registry,
    completions: {
      record: async (outcome) => {
        recorded.push(outcome);
        return true;
      },
      release: async (params) => [...params.executionIds],
    },
    identity,
    events: new SchedulerEventBus(),
    clock,
    logger: pino({ level: 'silent' }),
    instanceId: () => identity.id,
    onSlotFreed: () => (slotsFreed += 1),
  });
  return { pool, clock, recorded, slotsFreed: () => slotsFreed };
}

function dispatch(executionId: string, job = 'held', data: Record<string, unknown> | null = null): Dispatch {
  return {
    executionId,
    fireId: `fire-${executionId}`,
    attempt: 1,
    trigger: 't',
    group: 'g',
    job,
    scheduledAt: new Date('2026-01-01T00:00:00Z'),
    firedAt: new Date('2026-01-01T00:00:00Z'),
    data,
    settings: { timeoutMs: null, maxAttempts: 1, backoff: {}, recover: false },
    traceContext: null,
  };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('ExecutorPool', () => {
  it('takes a slot per attempt and frees it when the outcome is recorded', async () => {
    const { pool, recorded, slotsFreed } = setup(2);
    expect(pool.freeSlots).toBe(2);
    pool.run(dispatch('a'));
    pool.run(dispatch('b'));
    expect([pool.freeSlots, pool.inFlight]).toEqual([0, 2]);
    await expect.poll(() => Held.runs.length).toBe(2);
    Held.runs[0]!.finish({ sent: 3 });
    await expect.poll(() => slotsFreed()).toBe(1);
    expect([pool.freeSlots, pool.inFlight]).toEqual([1, 1]);
    expect(recorded).toMatchObject([
      { executionId: 'a', status: 'succeeded', result: { sent: 3 }, error: null },
    ]);
    Held.runs[1]!.fail(new Error('smtp down'));
    await expect.poll(() => recorded.length).toBe(2);
    expect(recorded[1]).toMatchObject({ executionId: 'b', status: 'failed' });
    expect(recorded[1]!.error).toContain('smtp down');
    expect(pool.freeSlots).toBe(2);
  });

  it('gives the job its idempotency key and fire, and rejects data its schema refuses without running it', async () => {
    const { pool, recorded } = setup();
    pool.run(dispatch('c'));
    await expect.poll(() => Held.runs.length).toBe(1);
    const { ctx } = Held.runs[0]!;
    expect(ctx.fire).toMatchObject({ executionId: 'c', fireId: 'fire-c', attempt: 1, trigger: 't' });
    expect(ctx.idempotencyKey).toMatch(/\S/);
    Held.runs[0]!.finish();
    pool.run(dispatch('d', 'strict', { to: 42 }));
    await expect.poll(() => recorded.length).toBe(2);
    expect(recorded[1]).toMatchObject({ executionId: 'd', status: 'failed', retryAfterMs: null });
    expect(recorded[1]!.error).toContain('to');
  });

  it('drain stops accepting work and waits for running jobs that finish before the deadline', async () => {
    const { pool, recorded } = setup();
    pool.run(dispatch('e'));
    await expect.poll(() => Held.runs.length).toBe(1);
    let drained: { aborted: number } | undefined;
    const draining = pool.drain(30_000).then((result) => (drained = result));
    await tick();
    expect(pool.freeSlots).toBe(0);
    expect(drained).toBeUndefined();
    Held.runs[0]!.finish();
    await draining;
    expect(drained).toEqual({ aborted: 0 });
    expect(recorded).toMatchObject([{ executionId: 'e', status: 'succeeded' }]);
  });

  it('drain aborts what still runs at the deadline and records no outcome for it (recovery owns it)', async () => {
    const { pool, clock, recorded } = setup();
    pool.run(dispatch('f'));
    await expect.poll(() => Held.runs.length).toBe(1);
    const { ctx } = Held.runs[0]!;
    const draining = pool.drain(5_000);
    await tick();
    clock.advance(5_000);
    await expect.poll(() => ctx.signal.aborted).toBe(true);
    Held.runs[0]!.fail(ctx.signal.reason);
    expect(await draining).toEqual({ aborted: 1 });
    expect(recorded).toEqual([]);
    expect(pool.inFlight).toBe(0);
  });
});
