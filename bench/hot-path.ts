/**
 * Where a batch of fires spends its time: the acquirer's steps run by hand against a fresh schema, one
 * process, no contention, each store call timed, then EXPLAIN ANALYZE of the two hot statements.
 * Mirrors acquireBatch in src/engine/acquisition-transaction.ts (lock → plan → record → commit) and the
 * CompletionWriter flush.
 *
 *   npx tsx bench/hot-path.ts [--triggers 10000] [--batch-sizes 100,500,1000] [--kind once|interval]
 */
import type { LogEvent } from 'kysely';
import { intFlag, parseFlags, stringFlag } from './support/args.js';
import { INSTANCE_ID, openAcquireSchema, planLocked, SCHEMA } from './support/acquire-schema.js';
import { insertBenchTriggers } from './support/belfry-db.js';
import { runMain } from './support/cleanup.js';
import { median, round } from './support/stats.js';
import { monoMs, wallMs } from './support/time.js';
import { completeExecutions } from '../src/store/execution-store.js';
import { inTransaction, type Executor } from '../src/store/executor.js';
import { lockDueTriggers, recordFires } from '../src/store/fire-store.js';

await runMain(async () => {
  const flags = parseFlags({
    triggers: { type: 'string' },
    'batch-sizes': { type: 'string' },
    kind: { type: 'string' },
  });
  const total = intFlag(flags.triggers, 10_000);
  const batchSizes = (stringFlag(flags['batch-sizes']) ?? '100,500,1000').split(',').map(Number);
  const kind = (stringFlag(flags.kind) ?? 'once') as 'once' | 'interval';
  let captured: LogEvent[] = [];
  const { pool, db, ex } = await openAcquireSchema({
    name: 'hotpath',
    poolSize: 4,
    log: (event) => void captured.push(event),
  });
  const instanceId = INSTANCE_ID;

  const timeOf = (text: string) =>
    captured.filter((e) => e.query.sql.includes(text)).reduce((sum, e) => sum + e.queryDurationMillis, 0);

  /** One acquisition as TriggerAcquirer does it: lock, plan, record, in the caller's transaction. */
  const acquire = async (tx: Executor, limit: number) => {
    const { triggers } = await lockDueTriggers(tx, { instanceId, jobs: ['noop'], limit });
    if (triggers.length === 0) return { recorded: [], planMs: 0 };
    const planStart = monoMs();
    const { advances, fires } = planLocked(triggers);
    const planMs = monoMs() - planStart;
    return { recorded: await recordFires(tx, { instanceId, advances, fires }), planMs };
  };
  const addTriggers = async (group: string) => {
    const due = wallMs() - 1_000;
    await insertBenchTriggers(pool, SCHEMA, {
      group,
      job: 'noop',
      triggers: Array.from({ length: total }, (_, i) =>
        kind === 'once'
          ? { name: `${group}-${i}`, kind: 'once' as const, firstAt: due }
          : {
              name: `${group}-${i}`,
              kind: 'interval' as const,
              everyMs: 3_600_000,
              anchorMs: due,
              firstAt: due,
            },
      ),
    });
    await pool.query(`VACUUM ANALYZE ${SCHEMA}.triggers`);
  };

  const rows: Record<string, unknown>[] = [];
  for (const [index, batchSize] of batchSizes.entries()) {
    await addTriggers(`g${index}`);
    const perBatch: {
      lock: number;
      plan: number;
      record: number;
      tx: number;
      complete: number;
      n: number;
    }[] = [];
    for (;;) {
      captured = [];
      const started = monoMs();
      const { recorded, planMs } = await inTransaction(ex, (tx) => acquire(tx, batchSize));
      const txMs = monoMs() - started;
      if (recorded.length === 0) break;
      const completeStart = monoMs();
      await completeExecutions(ex, {
        instanceId,
        outcomes: recorded.map((r) => ({
          executionId: r.executionId,
          scheduledAt: r.scheduledAt,
          status: 'succeeded',
          error: null,
          result: null,
          traceId: null,
          retryAfterMs: null,
        })),
      });
      perBatch.push({
        lock: timeOf('SKIP LOCKED'),
        plan: planMs,
        record: timeOf('WITH advanced AS'),
        tx: txMs,
        complete: monoMs() - completeStart,
        n: recorded.length,
      });
    }
    const full = perBatch.filter((b) => b.n === batchSize);
    const med = (key: keyof (typeof perBatch)[number]) => round(median(full.map((b) => b[key])), 1);
    const totalMs = perBatch.reduce((sum, b) => sum + b.tx + b.complete, 0);
    rows.push({
      batchSize,
      batches: perBatch.length,
      lockMs: med('lock'),
      planMs: med('plan'),
      recordFiresMs: med('record'),
      transactionMs: med('tx'),
      completeMs: med('complete'),
      perFireUs: round((((med('tx') ?? 0) + (med('complete') ?? 0)) * 1_000) / batchSize, 0),
      firesPerSecOneProcess: round((total / totalMs) * 1_000, 0),
    });
  }
  process.stdout.write(
    `\n${total} ${kind} triggers due, one process, no contention; medians per full batch (ms):\n`,
  );
  console.table(rows);

  // EXPLAIN ANALYZE of the two statements on a fresh set of due triggers (batch 500), rolled back.
  await addTriggers('explain');
  class Rollback extends Error {}
  captured = [];
  await db
    .transaction()
    .execute(async (trx) => {
      await acquire({ db: trx, schema: SCHEMA }, 500);
      throw new Rollback();
    })
    .catch((error) => {
      if (!(error instanceof Rollback)) throw error;
    });
  const lockSql = captured.find((e) => e.query.sql.includes('FOR UPDATE OF t SKIP LOCKED'))?.query;
  const recordSql = captured.find((e) => e.query.sql.includes('WITH advanced AS'))?.query;
  const client = await pool.connect();
  try {
    for (const [name, query] of [
      ['lockDueTriggers', lockSql],
      ['recordFires', recordSql],
    ] as const) {
      if (!query || !lockSql) continue;
      await client.query('BEGIN');
      if (name === 'recordFires') await client.query(lockSql.sql, lockSql.parameters as unknown[]);
      const { rows: plan } = await client.query(
        `EXPLAIN (ANALYZE, BUFFERS, TIMING) ${query.sql}`,
        query.parameters as unknown[],
      );
      await client.query('ROLLBACK');
      process.stdout.write(
        `\n-- EXPLAIN ANALYZE ${name}, batch of 500\n${plan.map((r: Record<string, string>) => r['QUERY PLAN']).join('\n')}\n`,
      );
    }
    // The proposed change to recordFires (src/store/fire-store.ts): also filter the advanced triggers by
    // `t.id = ANY(ids)`, so the planner probes the primary key for the batch instead of hashing a
    // sequential scan of the whole triggers table (which grows with every one-off trigger ever fired).
    if (lockSql && recordSql) {
      const variants: [string, string][] = [
        ['as is', recordSql.sql],
        [
          'proposed: AND t.id = ANY($1)',
          recordSql.sql.replace('WHERE t.id = a.id', 'WHERE t.id = a.id AND t.id = ANY($1::bigint[])'),
        ],
      ];
      for (const [label, text] of variants) {
        const times: number[] = [];
        for (let i = 0; i < 5; i += 1) {
          await client.query('BEGIN');
          await client.query(lockSql.sql, lockSql.parameters as unknown[]);
          const { rows: plan } = await client.query(
            `EXPLAIN (ANALYZE, FORMAT JSON) ${text}`,
            recordSql.parameters as unknown[],
          );
          await client.query('ROLLBACK');
          times.push(
            (plan[0] as { 'QUERY PLAN': [{ 'Execution Time': number }] })['QUERY PLAN'][0]['Execution Time'],
          );
        }
        process.stdout.write(
          `recordFires ${label}: execution ${round(median(times), 1)} ms (median of 5, batch 500, ${(await pool.query(`SELECT count(*) FROM ${SCHEMA}.triggers`)).rows[0].count} trigger rows)\n`,
        );
      }
    }
  } finally {
    client.release();
  }
  await db.destroy();
});
