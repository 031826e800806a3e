/** CompletionWriter on real PostgreSQL: batching, ownership, fencing, retry after a failed flush, abandon. */
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import pino from 'pino';
import { beforeAll, describe, expect, it } from 'vitest';
import { CompletionWriter, type CompletionWriterOptions } from '../../../src/engine/completion-writer.js';
import { nextInstanceLockKey, registerInstance } from '../../../src/store/instance-store.js';
import { markDeadInstances } from '../../../src/store/recovery-store.js';
import type { ExecutionOutcome } from '../../../src/store/execution-store.js';
import { defineJob } from '../../support/fixtures.js';
import { ManualClock } from '../../support/manual-clock.js';
import { useTestSchema } from '../../support/schema.js';

const database = useTestSchema();
const ex = () => ({ db: database.db, schema: database.schema });
const t = (name: string) => sql.table(`${database.schema}.${name}`);
const logger = pino({ level: 'silent' });

beforeAll(async () => {
  await defineJob(ex(), 'work');
});

async function register(): Promise<string> {
  const id = randomUUID();
  const lockKey = await nextInstanceLockKey(ex());
  await registerInstance(ex(), { id, name: `i-${id.slice(0, 8)}`, host: 'h', pid: 1, version: 'x', lockKey });
  return id;
}

/** The scheduled time of each execution `running` made (an outcome names it: the partition key). */
const scheduledAtOf = new Map<string, Date>();

/** A fire with one running execution that belongs to `instanceId`. */
async function running(instanceId: string): Promise<string> {
  const { rows } = await sql<{ id: string; scheduled_at: Date }>`
    WITH f AS (INSERT INTO ${t('fires')} (trigger_name, trigger_group, job_name, scheduled_at, instance_id)
               VALUES (${`t-${randomUUID()}`}, 'g', 'work', now(), ${instanceId}) RETURNING id, scheduled_at)
    INSERT INTO ${t('executions')} (fire_id, scheduled_at, attempt, job_name, status, instance_id, run_at, started_at)
    SELECT id, scheduled_at, 1, 'work', 'running', ${instanceId}, now(), now() FROM f
    RETURNING id, scheduled_at`.execute(database.db);
  scheduledAtOf.set(rows[0]!.id, rows[0]!.scheduled_at);
  return rows[0]!.id;
}

async function statusOf(executionId: string): Promise<string> {
  const { rows } = await sql<{ status: string }>`
    SELECT status FROM ${t('executions')} WHERE id = ${executionId}`.execute(database.db);
  return rows[0]!.status;
}

const succeeded = (executionId: string): ExecutionOutcome => ({
  executionId,
  scheduledAt: scheduledAtOf.get(executionId)!,
  status: 'succeeded',
  error: null,
  result: null,
  traceId: null,
  retryAfterMs: null,
});

function writer(instanceId: string, options: Partial<CompletionWriterOptions> = {}) {
  const flushes: boolean[] = [];
  const clock = new ManualClock();
  const completions = new CompletionWriter({
    executor: ex(),
    instanceId: () => instanceId,
    clock,
    logger,
    onFlushed: (hadRetries) => flushes.push(hadRetries),
    random: () => 0.5,
    ...options,
  });
  return { clock, completions, flushes };
}

describe('CompletionWriter', () => {
  it('writes outcomes recorded together in one flush', async () => {
    const id = await register();
    const executions = await Promise.all(Array.from({ length: 40 }, () => running(id)));
    const { completions, flushes } = writer(id);
    const recorded = await Promise.all(
      executions.map((execution) => completions.record(succeeded(execution))),
    );
    expect(recorded.every(Boolean)).toBe(true);
    expect(flushes).toEqual([false]);
    expect(new Set(await Promise.all(executions.map(statusOf)))).toEqual(new Set(['succeeded']));
    expect(completions.pendingCount).toBe(0);
  });

  it('splits a backlog into flushes of at most maxBatch', async () => {
    const id = await register();
    const executions = await Promise.all(Array.from({ length: 25 }, () => running(id)));
    const { completions, flushes } = writer(id, { maxBatch: 10 });
    const recorded = await Promise.all(
      executions.map((execution) => completions.record(succeeded(execution))),
    );
    expect(recorded.every(Boolean)).toBe(true);
    expect(flushes).toHaveLength(3);
  });

  it("resolves false for an execution that is not this instance's, and records the others", async () => {
    const mine = await register();
    const other = await register();
    const own = await running(mine);
    const theirs = await running(other);
    const { completions } = writer(mine);
    const [ownRecorded, theirsRecorded] = await Promise.all([
      completions.record(succeeded(own)),
      completions.record(succeeded(theirs)),
    ]);
    expect([ownRecorded, theirsRecorded]).toEqual([true, false]);
    expect(await statusOf(theirs)).toBe('running');
  });

  it('once the instance is declared dead, resolves false, tells onFenced and leaves the execution running', async () => {
    const id = await register();
    const execution = await running(id);
    await markDeadInstances(ex(), {
      selfId: randomUUID(),
      sessionLost: [{ id, since: new Date('2100-01-01T00:00:00Z') }],
      deadAfterMs: 3_600_000,
    });
    const fenced: unknown[] = [];
    const { completions } = writer(id, { onFenced: (error) => fenced.push(error) });
    expect(await completions.record(succeeded(execution))).toBe(false);
    expect(fenced).toHaveLength(1);
    expect(fenced[0]).toMatchObject({ code: 'BELFRY_ERR_INSTANCE_FENCED' });
    expect(await statusOf(execution)).toBe('running');
  });

  it('keeps the outcomes of a failed flush and writes them after the backoff', async () => {
    const id = await register();
    const execution = await running(id);
    let failures = 1;
    const { clock, completions } = writer(id, {
      instanceId: () => {
        if (failures-- > 0) throw new Error('connection reset');
        return id;
      },
    });
    const recorded = completions.record(succeeded(execution));
    await expect.poll(() => clock.sleeping).toBe(1);
    expect(completions.pendingCount).toBe(1);
    expect(await statusOf(execution)).toBe('running');
    clock.advance(5_000);
    expect(await recorded).toBe(true);
    expect(await statusOf(execution)).toBe('succeeded');
  });

  it('abandon resolves what is not written as not recorded; flushAll then has nothing to wait for', async () => {
    const id = await register();
    const execution = await running(id);
    const { clock, completions } = writer(id, {
      instanceId: () => {
        throw new Error('database down');
      },
    });
    const recorded = completions.record(succeeded(execution));
    await expect.poll(() => clock.sleeping).toBe(1);
    completions.abandon();
    expect(await recorded).toBe(false);
    clock.advance(5_000);
    await completions.flushAll();
    expect(completions.pendingCount).toBe(0);
    expect(await statusOf(execution)).toBe('running');
  });
});
