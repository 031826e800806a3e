/**
 * Before/after of one acquisition transaction (lock, plan, record, commit), interleaved in one process so
 * both see the same load on a shared machine: this checkout's fire-store against another checkout's
 * (a `git worktree` of an older commit, its node_modules linked). 20,000 one-offs due now on statistics
 * as stale as a table that filled in seconds; acquisitions alternate between the two until drained.
 *
 *   git worktree add --detach /tmp/before <commit> && ln -s "$PWD/node_modules" /tmp/before/node_modules
 *   npx tsx bench/profile-acquire.ts --compare /tmp/before [--triggers 20000] [--batch-sizes 10,500]
 */
import { resolve } from 'node:path';
import { intFlag, parseFlags, stringFlag } from './support/args.js';
import { INSTANCE_ID, openAcquireSchema, planLocked, SCHEMA } from './support/acquire-schema.js';
import { insertOneOffTriggers } from './support/belfry-db.js';
import { runMain } from './support/cleanup.js';
import { median, round } from './support/stats.js';
import { monoMs } from './support/time.js';
import { inTransaction, type Executor } from '../src/store/executor.js';
import * as current from '../src/store/fire-store.js';
import type { DueTrigger } from '../src/store/fire-store.js';

type FireStore = Pick<typeof current, 'recordFires'> & {
  lockDueTriggers: (ex: Executor, params: current.LockDueTriggersParams) => Promise<unknown>;
};

await runMain(async () => {
  const flags = parseFlags({
    compare: { type: 'string' },
    triggers: { type: 'string' },
    'batch-sizes': { type: 'string' },
  });
  const total = intFlag(flags.triggers, 20_000);
  const batchSizes = (stringFlag(flags['batch-sizes']) ?? '10,500').split(',').map(Number);
  const compare = stringFlag(flags.compare);
  const variants: [string, FireStore][] = [['this checkout', current]];
  if (compare)
    variants.unshift([compare, (await import(resolve(compare, 'src/store/fire-store.ts'))) as FireStore]);
  let statements = 0;
  const { server, pool, db, ex } = await openAcquireSchema({
    name: 'acquire',
    poolSize: 2,
    log: () => void (statements += 1),
  });
  const instanceId = INSTANCE_ID;

  const rows: Record<string, unknown>[] = [];
  for (const batchSize of batchSizes) {
    await insertOneOffTriggers(pool, SCHEMA, {
      group: `b${batchSize}`,
      job: 'noop',
      at: null,
      data: Array.from({ length: total }, () => ({})),
    });
    const times = variants.map(() => [] as number[]);
    const counts = variants.map(() => [] as number[]);
    const lockTimes = variants.map(() => [] as number[]);
    for (let round = 0, done = false; !done; round += 1) {
      for (const [index, [, store]] of variants.entries()) {
        statements = 0;
        const started = monoMs();
        const fired = await inTransaction(ex, async (tx) => {
          const lockStarted = monoMs();
          const locked = await store.lockDueTriggers(tx, { instanceId, jobs: ['noop'], limit: batchSize });
          lockTimes[index]!.push(monoMs() - lockStarted);
          const due = (
            Array.isArray(locked) ? locked : (locked as { triggers: DueTrigger[] }).triggers
          ) as DueTrigger[];
          const { advances, fires } = planLocked(due);
          if (due.length === 0) return 0;
          return (await store.recordFires(tx, { instanceId, advances, fires })).length;
        });
        if (fired < batchSize) {
          done = true;
          break;
        }
        times[index]!.push(monoMs() - started);
        counts[index]!.push(statements);
      }
    }
    for (const [index, [name]] of variants.entries()) {
      const ms = median(times[index]!) ?? 0;
      rows.push({
        code: name,
        batchSize,
        acquisitions: times[index]!.length,
        roundTrips: median(counts[index]!),
        lockMsP50: round(median(lockTimes[index]!), 2),
        transactionMsP50: round(ms, 2),
        perFireUs: round((ms * 1_000) / batchSize, 0),
      });
    }
  }
  console.table(rows);
  await db.destroy();
  await server.stop();
});
