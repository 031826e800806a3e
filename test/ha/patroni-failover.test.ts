/**
 * Exactly-once across a PostgreSQL primary failover (issue 17): 3 PostgreSQL nodes under Patroni with
 * etcd, HAProxy routing by Patroni's `/primary` check; 3 Belfry replicas (two through HAProxy, one with
 * the multi-host URL); 50 one-second triggers of a `recover: true` job. Faults: the primary's node killed
 * (SIGKILL of its postmaster and its Patroni agent: a standby is promoted), twice, and one planned
 * switchover. Then the history auditor and the handlers' own run log must agree:
 * 0 duplicate runs, 0 lost fires (a miss only as a recorded misfire), firing back within 15 s of each
 * fault.
 *
 * `npm run test:ha` runs it with synchronous replication (the assertions above) and then with
 * asynchronous replication, where it reports what happened (re-fires are expected and detectable: the
 * same idempotency key twice in the run log, and a run whose attempt the new primary does not have).
 * BELFRY_HA_MODES=sync or =async runs one. In `npm test` it is skipped (it takes minutes).
 */
import { afterAll, expect, it } from 'vitest';
import { sql } from 'kysely';
import { toolsPresent } from './ha-tools.js';
import { PatroniCluster } from './patroni-cluster.js';
import { HaScenario } from './ha-scenario.js';

const FULL = process.env.BELFRY_HA_FULL === '1';
const MODES = (process.env.BELFRY_HA_MODES ?? 'sync,async').split(',').filter(Boolean);
const RESUME_TARGET_MS = 15_000;
const log = (line: string) => console.log(`[ha ${new Date().toISOString().slice(11, 23)}] ${line}`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let cluster: PatroniCluster | undefined;
let scenario: HaScenario | undefined;
let passed = false;

afterAll(async () => {
  await scenario?.tearDown({ keepRunLog: !passed });
  await cluster?.stop({ keep: !passed });
  if (!passed && cluster) log(`kept for a post-mortem: ${cluster.workDir}, run log ${scenario?.runLogPath}`);
});

for (const mode of MODES) {
  it.skipIf(!FULL)(
    `${mode}: 2 primary kills and a switchover under 3 replicas and 50 one-second triggers`,
    async () => {
      if (!toolsPresent(['patroni', 'etcd', 'haproxy', 'postgres'], log)) return;
      // The previous mode's cluster, if it passed (a failed one is kept by afterAll).
      await scenario?.tearDown({ keepRunLog: !passed });
      await cluster?.stop({ keep: !passed });
      scenario = undefined;
      cluster = undefined;
      passed = false;
      const synchronous = mode === 'sync';
      cluster = new PatroniCluster({ synchronous, log });
      await cluster.start();
      const c = cluster;
      scenario = new HaScenario(c.haproxyUrl, log);
      const s = scenario;
      await s.setUp({ triggers: 50 });
      s.start({ name: 'replica-1', databaseUrl: c.haproxyUrl });
      s.start({ name: 'replica-2', databaseUrl: c.haproxyUrl });
      s.start({ name: 'replica-3', databaseUrl: c.multiHostUrl });
      const started = await Promise.all(s.replicas.map((r) => r.waitFor('started', () => true, 60_000)));
      const guarantee = started[0]!.replication as { mode: string; summary: string } | undefined;
      log(`replicas up; replication guarantee: ${guarantee?.mode}: ${guarantee?.summary}`);
      expect(guarantee?.mode).toBe(synchronous ? 'synchronous' : 'asynchronous');
      await s.waitForWindow(10_000);

      const settle = async (what: string) => {
        await c.waitFor(async () => (await c.primary()) !== undefined, 60_000, `a primary after ${what}`);
        await c.waitFor(
          async () => (await c.streamingStandbys()) === 2,
          120_000,
          `two standbys after ${what}`,
        );
        if (synchronous)
          await c.waitFor(async () => (await c.syncStandby()) !== undefined, 60_000, 'a synchronous standby');
        await sleep(8_000);
      };
      for (const round of [1, 2]) {
        const before = await c.primary();
        // The first kill comes while no standby has the primary's last ~3 s of WAL: what asynchronous
        // replication risks at any kill, made certain (synchronous commits wait for the standby instead).
        const thaw = round === 1 ? await c.freezeReplication() : undefined;
        if (thaw) await sleep(3_000);
        s.mark(`kill ${round} (${before}${thaw ? ', standbys 3 s behind' : ''})`);
        const node = await c.killNode();
        // The frozen senders belong to the dead node: they go with it.
        thaw?.('SIGKILL');
        await c.waitFor(
          async () => {
            const now = await c.primary();
            return now !== undefined && now !== before;
          },
          60_000,
          `a new primary after kill ${round}`,
        );
        log(`kill ${round}: ${before} → ${await c.primary()}`);
        c.restartAgent(node);
        await settle(`kill ${round}`);
      }
      s.mark('switchover');
      const switched = await c.switchover();
      await c.waitFor(async () => (await c.primary()) === switched.to, 60_000, 'the switchover');
      await settle('the switchover');

      const {
        rows: [clock],
      } = await sql<{ now: Date }>`SELECT now() AS now`.execute(s.database!.db);
      const until = new Date(Math.floor(clock!.now.getTime() / 1000) * 1000 - 2_000);
      log('window closed; letting recovery finish');
      await sleep(12_000);
      const result = await s.finish(until, c.haproxyUrl);
      const { report } = result;
      const runLog = report.runLog!;
      log(
        `${mode}: ${report.firesExpected} fires expected over ${(until.getTime() - s.windowStart.getTime()) / 1000} s, ${result.runs} runs; statuses ${JSON.stringify(result.statuses)}`,
      );
      for (const r of result.resumes)
        log(`${mode}: ${r.label}: no run for ${r.gapMs} ms; firing resumed ${r.resumeMs} ms after the fault`);
      log(
        `${mode}: fire violations ${report.fireViolations.length} (${summarize(report.fireViolations.map((v) => v.kind))}), run-log violations ${runLog.violations.length} (${summarize(runLog.violations.map((v) => v.kind))}), execution anomalies ${report.executionAnomalies.length}, misfire outages ${report.misfireOutages}, re-fires (same idempotency key run twice) ${result.refires.length}`,
      );
      for (const v of report.fireViolations.slice(0, 10))
        log(`  fire ${v.kind}: ${v.trigger} at ${v.scheduledAt.toISOString()} (${v.count})`);
      for (const v of runLog.violations.slice(0, 10))
        log(`  run ${v.kind}: ${v.trigger} at ${v.scheduledAt?.toISOString()}: ${v.detail}`);

      expect(report.firesExpected).toBeGreaterThan(50 * 40);
      expect(runLog.unplacedPids).toEqual([]);
      if (synchronous) {
        expect(report.fireViolations).toEqual([]);
        expect(report.executionAnomalies).toEqual([]);
        expect(report.staleEpochWrites).toEqual([]);
        expect(report.misfirePolicyViolations).toEqual([]);
        expect(runLog.violations).toEqual([]);
        expect(result.refires).toEqual([]);
        // recover: true re-runs an execution whose replica was declared dead: none may be.
        expect(result.statuses.recovered ?? 0).toBe(0);
        for (const r of result.resumes) expect(r.resumeMs, r.label).toBeLessThanOrEqual(RESUME_TARGET_MS);
      } else {
        // Asynchronous: the fires of the standbys' last 3 s before the first kill were lost with the old
        // primary and fired again. No fire is missing (a lost fire is due again), and every re-fire is
        // detectable: the same idempotency key (trigger + scheduled time) ran twice, and the first run's
        // attempt is not in the new primary's history (or its id was reused by the re-fire).
        expect(report.fireViolations).toEqual([]);
        expect(result.refires.length).toBeGreaterThan(0);
        const kinds = new Set(runLog.violations.map((v) => v.kind));
        expect([...kinds].filter((k) => k !== 'run-without-attempt' && k !== 'attempt-ran-twice')).toEqual(
          [],
        );
        const flagged = new Set(runLog.violations.map((v) => `${v.trigger}@${v.scheduledAt?.toISOString()}`));
        const unflagged = result.refires.filter((r) => !flagged.has(`${r.trigger}@${r.scheduledAt}`));
        log(
          `async: ${result.refires.length} re-fires, ${result.refires.length - unflagged.length} flagged by the run-log audit`,
        );
        expect(unflagged).toEqual([]);
      }
      passed = true;
    },
    600_000,
  );
}

it.skipIf(FULL)('the Patroni failover test runs under npm run test:ha', () => {
  console.log('[belfry ha] the Patroni failover test is skipped in npm test: run npm run test:ha');
});

function summarize(kinds: string[]): string {
  const counts = new Map<string, number>();
  for (const kind of kinds) counts.set(kind, (counts.get(kind) ?? 0) + 1);
  return [...counts].map(([kind, n]) => `${kind} ${n}`).join(', ') || 'none';
}
