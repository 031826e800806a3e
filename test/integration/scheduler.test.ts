import { describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { useTestSchema } from '../support/schema.js';
import { testScheduler, waitForEvents } from '../support/scheduler.js';
import { defineJob, defineTrigger } from '../support/fixtures.js';
import type { JobContext } from '../../src/jobs/job.js';

const database = useTestSchema();

const seen: JobContext[] = [];
class RecordingJob {
  async execute(ctx: JobContext) {
    seen.push(ctx);
    return { ok: true };
  }
}

describe('scheduler on one replica', () => {
  it('fires an interval trigger on time, once per scheduled time, and records the history', async () => {
    const ex = { db: database.db, schema: database.schema };
    const scheduler = testScheduler(database).registerJob('record', RecordingJob);
    await scheduler.start();
    await defineJob(ex, 'record');
    const spec = { kind: 'interval', everyMs: 200 } as const;
    const first = new Date(Math.ceil((Date.now() + 100) / 200) * 200);
    await defineTrigger(
      ex,
      { name: 'every-200ms', group: 'g', job: 'record', spec, data: { hello: 'world' } },
      first,
    );
    const finished = await waitForEvents(scheduler, 'execution:finished', 5);
    await scheduler.stop();
    expect(finished.every((event) => event.status === 'succeeded' && event.recorded)).toBe(true);
    expect(seen[0]!.data).toEqual({ hello: 'world' });
    expect(seen[0]!.idempotencyKey).toBe(`every-200ms@${seen[0]!.fire.scheduledAt.toISOString()}`);
    const { rows } = await sql<{ scheduled_at: Date; status: string; lag_ms: string }>`
      SELECT scheduled_at, status, lag_ms FROM ${sql.table(`${database.schema}.job_history`)} ORDER BY scheduled_at`.execute(
      database.db,
    );
    expect(rows.length).toBeGreaterThanOrEqual(5);
    const times = rows.map((row) => row.scheduled_at.getTime());
    expect(new Set(times).size).toBe(times.length);
    for (let i = 1; i < times.length; i += 1) expect(times[i]! - times[i - 1]!).toBe(200);
  });
});
