/**
 * The completion writer's shutdown path: outcomes it cannot write (the database does not answer) are
 * kept and retried until the replica gives up on them at its deadline; then they resolve as not
 * recorded, and nothing is retried after.
 */
import pino from 'pino';
import { afterAll, expect, it } from 'vitest';
import { CompletionWriter } from '../../../src/engine/completion-writer.js';
import { openDatabase } from '../../../src/store/database.js';
import { systemClock } from '../../../src/time/clock.js';

// Nothing listens on port 1: every query fails at once with a connection error.
const unreachable = openDatabase({
  connectionString: 'postgres://belfry@127.0.0.1:1/none',
  maxConnections: 1,
});
afterAll(() => unreachable.destroy());

it('keeps failed outcomes for a retry, and resolves them as not recorded once abandoned', async () => {
  const warnings: string[] = [];
  const logger = pino({ level: 'warn' }, { write: (line: string) => warnings.push(JSON.parse(line).msg) });
  const writer = new CompletionWriter({
    executor: { db: unreachable.db, schema: unreachable.schema },
    instanceId: () => '00000000-0000-4000-8000-000000000001',
    clock: systemClock,
    logger,
    random: () => 0,
  });
  const recorded = writer.record({
    executionId: '1',
    scheduledAt: new Date(0),
    status: 'succeeded',
    error: null,
    result: null,
    traceId: null,
    retryAfterMs: null,
  });
  let settled = false;
  void recorded.then(() => (settled = true));
  while (!warnings.includes('recording outcomes failed')) await new Promise((r) => setTimeout(r, 10));
  expect(settled).toBe(false); // kept: the execution stays running, which is the truth until written

  writer.abandon();
  await expect(recorded).resolves.toBe(false);
  expect(writer.pendingCount).toBe(0);
  await writer.flushAll();
  // A later outcome is not written either: the replica is leaving.
  await expect(
    writer.record({
      executionId: '2',
      scheduledAt: new Date(0),
      status: 'failed',
      error: 'x',
      result: null,
      traceId: null,
      retryAfterMs: null,
    }),
  ).resolves.toBe(false);
});
