/** What every system's suite shares: sizes, the context, idle measurement and progress output. */
import type { BenchServer } from '../support/postgres.js';
import { monoMs, sleep } from '../support/time.js';
import { round } from '../support/stats.js';

export interface Sizes {
  /** Worker or replica processes per system. */
  processes: number;
  /** (a) jobs/triggers due at the same instant. */
  herd: number;
  /** (b) Belfry: interval triggers every 1 s, and for how long. */
  sustainedTriggers: number;
  sustainedSeconds: number;
  /** (b) peers: jobs drained by the workers. */
  peerDrainJobs: number;
  /** (c) interval triggers every 1 s, and for how long. */
  lightTriggers: number;
  lightSeconds: number;
  /** add-to-start: requests per second, for how long. */
  addRate: number;
  addSeconds: number;
  /** (d) idle window and the settling time before it. */
  idleSeconds: number;
  settleSeconds: number;
  /** Peers' cron: items, or 0 to skip (it waits for a minute boundary). */
  cronItems: number;
}

export interface SuiteContext {
  server: BenchServer;
  sizes: Sizes;
  logDir: string;
  log: (message: string) => void;
}

export interface IdleResult {
  seconds: number;
  transactions: number;
  perSecond: number | null;
  perProcess: number | null;
}

/**
 * Transactions per second in `database` while its processes idle: the delta of pg_stat_database's
 * `xact_commit + xact_rollback` over the window. The counters are read from the maintenance database,
 * so the measurement's own queries are not in the delta (nothing to subtract). PostgreSQL flushes a
 * backend's counters at most once a second (idle ones within ~10 s), so the window should be long.
 */
export async function measureIdle(
  server: BenchServer,
  database: string,
  processes: number,
  sizes: Sizes,
  log: (m: string) => void,
): Promise<IdleResult> {
  log(`idle: settling ${sizes.settleSeconds} s, then counting transactions for ${sizes.idleSeconds} s`);
  await sleep(sizes.settleSeconds * 1_000);
  const before = await server.transactions(database);
  const started = monoMs();
  await sleep(sizes.idleSeconds * 1_000);
  const after = await server.transactions(database);
  const seconds = (monoMs() - started) / 1_000;
  const transactions = after - before;
  return {
    seconds: round(seconds, 2)!,
    transactions,
    perSecond: round(transactions / seconds, 3),
    perProcess: round(transactions / seconds / processes, 3),
  };
}
