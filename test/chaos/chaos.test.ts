/**
 * The chaos test (issue 3): 4 replica processes, 100 interval triggers at 1 s plus 20 cron triggers every
 * second, jobs that sleep 0–500 ms, half of them `recover: true`; while they run: SIGKILL a replica and
 * restart it, SIGSTOP the leader past its lease then SIGCONT, pg_terminate_backend a replica's
 * connections, restart PostgreSQL, and one replica runs under faketime skewed by +5 minutes. Then the
 * history auditor (the same code as `belfry audit`) must find every scheduled fire exactly once, every
 * execution terminal, recovery chains complete and no leader-only write under a stale epoch.
 *
 * `npm test` runs it for 60 s; `npm run test:chaos` for 10 minutes; `npm run test:soak` for an hour with
 * faults every ~30 s (BELFRY_CHAOS_DURATION, BELFRY_CHAOS_FAULT_EVERY).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { sql } from 'kysely';
import { startEmbeddedPostgres, type EmbeddedServer } from '../../src/dev/embedded-postgres.js';
import { openDatabase, type BelfryDatabase } from '../../src/store/database.js';
import { migrate } from '../../src/store/migrator.js';
import { auditHistory } from '../../src/audit/history-auditor.js';
import { spawnReplica, stopReplicas, type ReplicaHandle } from '../support/cluster.js';
import { defineJob, defineTrigger } from '../support/fixtures.js';

const DURATION_S = Number(process.env.BELFRY_CHAOS_DURATION ?? 60);
/** Mean seconds between injected faults (the soak run spaces them out). */
const FAULT_EVERY_S = Number(process.env.BELFRY_CHAOS_FAULT_EVERY ?? 6);
const log = (message: string) => console.log(`[chaos ${new Date().toISOString().slice(11, 23)}] ${message}`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// libfaketime preloaded into the replica itself (the `faketime` wrapper would stand between the test and
// the replica and swallow its signals). Only the wall clock is skewed; monotonic time stays true, as on a
// machine whose NTP is off.
const LIBFAKETIME = '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1';
function hasFaketime(): boolean {
  return existsSync(LIBFAKETIME);
}

let server: EmbeddedServer | undefined;
let database: BelfryDatabase | undefined;
let replicas: ReplicaHandle[] = [];
const dataDir = join(process.cwd(), '.tmp', `chaos-pg-${randomBytes(4).toString('hex')}`);

afterAll(async () => {
  await stopReplicas(replicas, 'SIGKILL');
  await database?.destroy();
  await server?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

it(
  `keeps exactly-once through ${DURATION_S} s of kills, stalls, cut connections, a database restart and clock skew`,
  async () => {
    const faketime = hasFaketime();
    if (!faketime) {
      if (process.env.CI === 'true') throw new Error('faketime is missing: apt-get install -y faketime');
      log('faketime not installed (apt-get install -y faketime): the skewed-clock replica is left out');
    }
    // Its own server, so restarting it does not disturb other test files.
    server = await startEmbeddedPostgres({ dataDir, persistent: true, maxConnections: 200 });
    const url = server.url;
    const port = server.port;
    const schema = 'chaos';
    database = openDatabase({ connectionString: url, schema, maxConnections: 3 });
    await migrate(database.pool, schema);
    const ex = { db: database.db, schema };
    await defineJob(ex, 'sleep');
    await defineJob(ex, 'sleep-recover', { recover: true });
    const {
      rows: [clock],
    } = await sql<{ now: Date }>`SELECT now() AS now`.execute(database.db);
    const windowStart = new Date(Math.ceil(clock!.now.getTime() / 1000) * 1000 + 8_000);
    const windowEnd = new Date(windowStart.getTime() + DURATION_S * 1000);
    for (let i = 0; i < 100; i += 1) {
      await defineTrigger(
        ex,
        {
          name: `interval-${i}`,
          job: i % 2 ? 'sleep-recover' : 'sleep',
          spec: { kind: 'interval', everyMs: 1000 },
        },
        windowStart,
      );
    }
    for (let i = 0; i < 20; i += 1) {
      await defineTrigger(
        ex,
        {
          name: `cron-${i}`,
          job: 'sleep',
          spec: { kind: 'cron', expression: '* * * * * *', timezone: 'UTC' },
        },
        windowStart,
      );
    }

    const start = (name: string) => {
      const skewed = faketime && name === 'replica-4';
      return spawnReplica({
        name,
        databaseUrl: url,
        schema,
        concurrency: 200,
        env: skewed
          ? { LD_PRELOAD: LIBFAKETIME, FAKETIME: '+300s', FAKETIME_DONT_FAKE_MONOTONIC: '1' }
          : undefined,
      });
    };
    replicas = ['replica-1', 'replica-2', 'replica-3', 'replica-4'].map(start);
    await Promise.all(replicas.map((r) => r.waitFor('started', () => true, 60_000)));
    log(
      `4 replicas up${faketime ? ' (replica-4 at +5 min)' : ''}; window ${windowStart.toISOString()} + ${DURATION_S} s`,
    );

    const leaderName = async (): Promise<string | undefined> => {
      const { rows } = await sql<{ name: string }>`
      SELECT i.name FROM chaos.leader l JOIN chaos.instances i ON i.id = l.holder WHERE l.expires_at > now()`.execute(
        database!.db,
      );
      return rows[0]?.name;
    };
    const pick = <T>(list: T[]) => list[Math.floor(Math.random() * list.length)]!;
    const byName = (name: string) =>
      replicas.find((r) => r.name === name && r.child.exitCode === null && r.child.signalCode === null)!;
    const injected: string[] = [];
    let killedRecoverable = 0;

    const injections: (() => Promise<void>)[] = [
      async () => {
        // A random replica among those running recoverable work, so the kill has something to recover.
        const { rows: busy } = await sql<{ name: string; n: number }>`
        SELECT i.name, count(*)::int AS n FROM chaos.executions e JOIN chaos.instances i ON i.id = e.instance_id
         WHERE e.status = 'running' AND e.job_name = 'sleep-recover' AND i.state = 'active' GROUP BY i.name`.execute(
          database!.db,
        );
        const victim = busy.length
          ? (byName(pick(busy).name) ?? pick(replicas))
          : pick(replicas.filter((r) => r.child.exitCode === null));
        const running = busy.find((b) => b.name === victim.name)?.n ?? 0;
        killedRecoverable += running;
        log(`SIGKILL ${victim.name} (${running} running recoverable executions)`);
        injected.push(`SIGKILL ${victim.name}`);
        victim.child.kill('SIGKILL');
        await victim.exited;
        await sleep(2_000);
        replicas = replicas.filter((r) => r !== victim).concat(start(victim.name));
      },
      async () => {
        const name = (await leaderName()) ?? 'replica-1';
        const victim = byName(name);
        const pauseMs = 7_000 + Math.floor(Math.random() * 5_000);
        log(`SIGSTOP leader ${name} for ${pauseMs} ms`);
        injected.push(`SIGSTOP leader ${name} ${pauseMs} ms`);
        victim.child.kill('SIGSTOP');
        await sleep(pauseMs);
        victim.child.kill('SIGCONT');
      },
      async () => {
        const victim = pick(replicas.filter((r) => r.child.exitCode === null));
        const { rows } = await sql<{ n: number }>`
        SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity
         WHERE application_name IN (${`belfry:${victim.name}`}, ${`belfry-session:${victim.name}`})`.execute(
          database!.db,
        );
        log(`pg_terminate_backend ${victim.name}: ${rows[0]!.n} connections`);
        injected.push(`pg_terminate_backend ${victim.name}`);
      },
      async () => {
        log('restarting PostgreSQL');
        injected.push('PostgreSQL restart');
        await database!.destroy();
        await server!.stop();
        await sleep(2_000);
        server = await startEmbeddedPostgres({ dataDir, port, persistent: true, maxConnections: 200 });
        database = openDatabase({ connectionString: url, schema, maxConnections: 3 });
        log('PostgreSQL is back');
      },
    ];

    // Wait for the window to open, then inject one fault every ~8 s, cycling through all kinds.
    while (Date.now() < windowStart.getTime()) await sleep(200);
    const order = [0, 1, 2, 3];
    for (let round = 0; Date.now() < windowEnd.getTime() - 12_000; round += 1) {
      if (round % 4 === 0) order.sort(() => Math.random() - 0.5);
      await sleep(FAULT_EVERY_S * 1000 * (0.5 + Math.random()));
      await injections[order[round % 4]!]!();
    }
    while (Date.now() < windowEnd.getTime()) await sleep(200);
    log('window closed; letting recovery and catch-up finish');
    await sleep(12_000);
    const crashed = replicas.filter((r) => r.child.exitCode !== null || r.child.signalCode !== null);
    await stopReplicas(replicas);

    const report = await auditHistory({ db: database.db, schema }, { since: windowStart, until: windowEnd });
    const { rows: statuses } = await sql<{ status: string; n: number }>`
    SELECT status, count(*)::int AS n FROM chaos.job_history
     WHERE scheduled_at >= ${windowStart} AND scheduled_at < ${windowEnd} GROUP BY status ORDER BY status`.execute(
      database.db,
    );
    const { rows: terms } = await sql<{
      n: number;
    }>`SELECT count(*)::int AS n FROM chaos.leader_terms`.execute(database.db);
    const { rows: instances } = await sql<{
      name: string;
      state: string;
      dead_reason: string | null;
      started: string;
      stopped: string | null;
    }>`
    SELECT name, state, dead_reason, to_char(started_at, 'HH24:MI:SS.MS') AS started, to_char(stopped_at, 'HH24:MI:SS.MS') AS stopped
      FROM chaos.instances ORDER BY started_at`.execute(database.db);
    log(
      `instances: ${instances.map((i) => `${i.name} ${i.started}–${i.stopped ?? ''} ${i.state}${i.dead_reason ? ` (${i.dead_reason})` : ''}`).join(', ')}`,
    );
    log(`injected: ${injected.join('; ')}`);
    log(`statuses: ${statuses.map((s) => `${s.status}=${s.n}`).join(' ')}; leader terms: ${terms[0]!.n}`);
    log(
      `audit: ${report.firesExpected} expected fires, ${report.fireViolations.length} fire violations, ${report.executionAnomalies.length} execution anomalies, ${report.staleEpochWrites.length} stale-epoch writes`,
    );
    // No replica died of anything but our SIGKILLs, and every one stopped cleanly on SIGTERM.
    expect(crashed.map((r) => `${r.name} exited ${r.child.exitCode ?? r.child.signalCode}`)).toEqual([]);
    expect(replicas.map((r) => r.child.exitCode)).toEqual(replicas.map(() => 0));
    expect(report.fireViolations).toEqual([]);
    expect(report.executionAnomalies).toEqual([]);
    expect(report.staleEpochWrites).toEqual([]);
    expect(report.firesExpected).toBe(120 * DURATION_S);
    expect(report.ok).toBe(true);
    if (injected.some((i) => i.startsWith('SIGKILL')) && killedRecoverable > 0) {
      expect(statuses.find((s) => s.status === 'recovered')?.n ?? 0).toBeGreaterThan(0);
    }
  },
  (DURATION_S + 120) * 1000,
);
