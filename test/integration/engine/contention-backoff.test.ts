/**
 * Contention: work is due but a peer holds every row of it (SKIP LOCKED locks nothing). The acquirer
 * backs off briefly with equal jitter (5–10 ms, 10–20, 20–40, then 40–80 ms for as long as it lasts)
 * instead of spinning, draws the jitter from the injected `random`, and starts again from the first step
 * once a tick finds work of its own.
 */
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { ExecutorPool } from '../../../src/engine/executor-pool.js';
import { SchedulerEventBus } from '../../../src/events/scheduler-events.js';
import { TriggerAcquirer } from '../../../src/engine/trigger-acquirer.js';
import type { Executor } from '../../../src/store/executor.js';
import { defineJob, defineTrigger } from '../../support/fixtures.js';
import { useTestSchema } from '../../support/schema.js';

const database = useTestSchema();
const ex = (): Executor => ({ db: database.db, schema: database.schema });
const table = (name: string) => sql.table(`${database.schema}.${name}`);
const schemaTable = (name: string) => `"${database.schema}".${name}`;

afterEach(async () => {
  await sql`TRUNCATE ${table('fires')}, ${table('executions')}, ${table('triggers')}, ${table('jobs')} CASCADE`.execute(
    database.db,
  );
});

async function registerInstance(): Promise<string> {
  const id = randomUUID();
  await sql`INSERT INTO ${table('instances')} (id, name, host, pid, version, lock_key)
            VALUES (${id}, 'test', 'h', 1, 'x', nextval(${`${database.schema}.instance_lock_key`}::regclass))`.execute(
    database.db,
  );
  return id;
}

/** A one-off trigger long overdue (it fires once now when acquired). */
async function addDueTrigger(name: string): Promise<void> {
  const at = new Date('2020-01-01T00:00:00Z');
  await defineTrigger(ex(), { name, job: 'work', spec: { kind: 'once', at: at.toISOString() } }, at);
}

/** A peer's acquisition in flight: every trigger row locked until `release()`. */
async function peerHoldsEveryTrigger(): Promise<{ release: () => Promise<void> }> {
  const client = await database.pool.connect();
  await client.query('BEGIN');
  await client.query(`SELECT id FROM ${schemaTable('triggers')} FOR UPDATE`);
  return {
    release: async () => {
      await client.query('ROLLBACK');
      client.release();
    },
  };
}

function acquirer(instanceId: string, draw: number): { acquirer: TriggerAcquirer; draws: () => number } {
  let draws = 0;
  const result = new TriggerAcquirer({
    executor: ex(),
    pool: { freeSlots: 10, run: () => {} } as unknown as ExecutorPool,
    events: new SchedulerEventBus(),
    logger: pino({ level: 'silent' }),
    instanceId: () => instanceId,
    jobNames: () => ['work'],
    batchSize: 10,
    maxIdleMs: 10_000,
    random: () => {
      draws += 1;
      return draw;
    },
  });
  return { acquirer: result, draws: () => draws };
}

async function contendedWaits(subject: TriggerAcquirer, ticks: number): Promise<number[]> {
  const waits: number[] = [];
  for (let tick = 0; tick < ticks; tick += 1) {
    const result = await subject.tick();
    expect(result).toMatchObject({ fired: 0, claimed: 0 });
    waits.push(result.waitMs);
  }
  return waits;
}

describe('TriggerAcquirer under contention', () => {
  it('backs off 5–10, 10–20, 20–40, then 40–80 ms, the jitter drawn from the injected random', async () => {
    const instanceId = await registerInstance();
    await defineJob(ex(), 'work');
    await addDueTrigger('held');
    const peer = await peerHoldsEveryTrigger();
    try {
      const low = acquirer(instanceId, 0);
      expect(await contendedWaits(low.acquirer, 6)).toEqual([5, 10, 20, 40, 40, 40]);
      expect(low.draws()).toBe(6);
      const high = acquirer(instanceId, 0.999_999);
      expect(await contendedWaits(high.acquirer, 6)).toEqual([10, 20, 40, 80, 80, 80]);
      const mid = acquirer(instanceId, 0.5);
      expect(await contendedWaits(mid.acquirer, 5)).toEqual([8, 15, 30, 60, 60]);
    } finally {
      await peer.release();
    }
  });

  it('starts again from the first step once a tick acquires work of its own', async () => {
    const instanceId = await registerInstance();
    await defineJob(ex(), 'work');
    await addDueTrigger('first');
    const { acquirer: subject } = acquirer(instanceId, 0);
    let peer = await peerHoldsEveryTrigger();
    try {
      expect(await contendedWaits(subject, 3)).toEqual([5, 10, 20]);
    } finally {
      await peer.release();
    }
    expect((await subject.tick()).fired).toBe(1);
    await addDueTrigger('second');
    peer = await peerHoldsEveryTrigger();
    try {
      expect(await contendedWaits(subject, 2)).toEqual([5, 10]);
    } finally {
      await peer.release();
    }
  });
});
