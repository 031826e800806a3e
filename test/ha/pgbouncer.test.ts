/**
 * Belfry behind a real PgBouncer (issue 17, item 4), on the tests' PostgreSQL server:
 *   - what cannot work is refused at start: the replica session (session advisory lock, LISTEN) through
 *     a transaction-mode pool fails the start with BELFRY_ERR_SESSION_POOLED; the pooler probe tells
 *     the modes apart;
 *   - a short chaos scenario (3 replicas, one-second triggers of a recover: true job, replicas SIGKILLed
 *     and restarted, the server connections behind the pooler terminated), judged by the history auditor
 *     and the handlers' run log: with the pool URL through PgBouncer in transaction mode and the session
 *     URL direct, and with both through PgBouncer in session mode.
 * `npm test` runs the refusal and the transaction-mode scenario for 12 s; `npm run test:ha` runs both
 * scenarios for 60 s (BELFRY_HA_FULL=1).
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import pg from 'pg';
import { isTransactionPooled } from '../../src/store/pooler-probe.js';
import { testDatabaseUrl } from '../support/schema.js';
import { toolsPresent } from './ha-tools.js';
import { HaScenario, type ReplicaUrls } from './ha-scenario.js';
import { PgBouncer, type PoolMode } from './pgbouncer.js';

const FULL = process.env.BELFRY_HA_FULL === '1';
const WINDOW_S = FULL ? 60 : 12;
const log = (line: string) => console.log(`[pgbouncer ${new Date().toISOString().slice(11, 23)}] ${line}`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const present = toolsPresent(['pgbouncer'], log);

let bouncer: PgBouncer | undefined;
let keep = false;

beforeAll(async () => {
  if (!present) return;
  bouncer = new PgBouncer(testDatabaseUrl());
  await bouncer.start();
});

afterAll(async () => {
  await bouncer?.stop({ keep });
  if (keep && bouncer) log(`kept for a post-mortem: ${bouncer.workDir}`);
});

const connectTo = (url: string) => async () => {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => {});
  await client.connect();
  return client;
};

describe.skipIf(!present)('PgBouncer', () => {
  it('the pooler probe tells transaction pooling from session pooling and a direct connection', async () => {
    const b = bouncer!;
    expect(await isTransactionPooled(connectTo(b.url('transaction')))).toBe(true);
    expect(await isTransactionPooled(connectTo(b.url('session')))).toBe(false);
    expect(await isTransactionPooled(connectTo(testDatabaseUrl()))).toBe(false);
  });

  it('refuses to start with the session URL through a transaction-mode pool, saying what to set', async () => {
    const s = new HaScenario(testDatabaseUrl(), log);
    try {
      await s.setUp({ triggers: 1 });
      const replica = s.start({
        name: `pgb-${randomBytes(3).toString('hex')}`,
        databaseUrl: bouncer!.url('transaction'),
      });
      const failed = await replica.waitFor('start-failed', () => true, 30_000);
      expect(failed.code).toBe('BELFRY_ERR_SESSION_POOLED');
      expect(failed.message).toMatch(/transaction pooler/);
      expect(failed.message).toMatch(/BELFRY_SESSION_DATABASE_URL/);
      expect(await replica.exited).toBe(3);
    } finally {
      await dropScenario(s);
    }
  });

  const modes: { mode: PoolMode; sessionDirect: boolean; inNpmTest: boolean }[] = [
    { mode: 'transaction', sessionDirect: true, inNpmTest: true },
    { mode: 'session', sessionDirect: false, inNpmTest: false },
  ];
  for (const { mode, sessionDirect, inNpmTest } of modes) {
    it.skipIf(!FULL && !inNpmTest)(
      `${mode} mode${sessionDirect ? ' (session URL direct)' : ' (session URL through PgBouncer too)'}: ${WINDOW_S} s of kills and cut connections, exactly once`,
      async () => {
        keep = true;
        const b = bouncer!;
        const direct = testDatabaseUrl();
        const s = new HaScenario(direct, log);
        const tag = randomBytes(3).toString('hex');
        const urls = (n: number): ReplicaUrls => ({
          name: `pgb-${tag}-${n}`,
          databaseUrl: b.url(mode),
          sessionUrl: sessionDirect ? direct : b.url(mode),
        });
        try {
          await s.setUp({ triggers: 30, leadMs: 5_000 });
          for (const n of [1, 2, 3]) s.start(urls(n));
          await Promise.all(s.replicas.map((r) => r.waitFor('started', () => true, 60_000)));
          await s.waitForWindow(1_000);
          const windowEnd = s.windowStart.getTime() + WINDOW_S * 1000;
          let kills = 0;
          let cut = 0;
          for (let round = 0; Date.now() < windowEnd - 4_000; round += 1) {
            if (round % 2 === 0) {
              const alive = s.replicas.filter(
                (r) => r.child.exitCode === null && r.child.signalCode === null,
              );
              const victim = alive[Math.floor(Math.random() * alive.length)]!;
              log(`SIGKILL ${victim.name}`);
              victim.child.kill('SIGKILL');
              await victim.exited;
              kills += 1;
              s.start({ ...urls(Number(victim.name.split('-').at(-1))) });
            } else {
              // The server connections behind the pooler, and the direct sessions, of this test's replicas.
              const { rows } = await sql<{ n: number }>`
                SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity
                 WHERE application_name LIKE ${`%pgb-${tag}-%`}`.execute(s.database!.db);
              log(`terminated ${rows[0]!.n} server connections`);
              cut += rows[0]!.n;
            }
            await sleep(FULL ? 5_000 : 3_000);
          }
          while (Date.now() < windowEnd) await sleep(100);
          await sleep(12_000); // recovery of the killed replicas' executions
          const result = await s.finish(new Date(windowEnd));
          const { report } = result;
          log(
            `${mode}: ${report.firesExpected} fires expected, ${result.runs} runs, statuses ${JSON.stringify(result.statuses)}; ${kills} kills, ${cut} connections cut; fire violations ${report.fireViolations.length}, run-log violations ${report.runLog!.violations.length}, anomalies ${report.executionAnomalies.length}`,
          );
          for (const v of report.runLog!.violations.slice(0, 10))
            log(`  run ${v.kind}: ${v.trigger}: ${v.detail}`);
          expect(kills).toBeGreaterThan(0);
          expect(cut).toBeGreaterThan(0);
          expect(report.firesExpected).toBeGreaterThanOrEqual(30 * (WINDOW_S - 1));
          expect(report.fireViolations).toEqual([]);
          expect(report.executionAnomalies).toEqual([]);
          expect(report.staleEpochWrites).toEqual([]);
          expect(report.runLog!.violations).toEqual([]);
          expect(report.ok).toBe(true);
          keep = false;
        } finally {
          await dropScenario(s);
        }
      },
      (WINDOW_S + 120) * 1000,
    );
  }
});

async function dropScenario(s: HaScenario): Promise<void> {
  await s.tearDown({ keepRunLog: keep });
  const admin = new pg.Client({ connectionString: testDatabaseUrl() });
  await admin.connect();
  await admin.query(`DROP SCHEMA IF EXISTS "${s.schema}" CASCADE`).catch(() => {});
  await admin.end();
}
