/**
 * The HA scenario shared by the Patroni and PgBouncer tests: a schema with `triggers` one-second interval
 * triggers of the `tick` job (recover: true), replica processes (ha-replica.ts) writing a run log, and
 * afterwards the history auditor with that run log, plus when firing stopped and resumed around each
 * fault (from the run log: the handlers' own wall clock, on this same machine).
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import { auditHistory, type AuditReport } from '../../src/audit/history-auditor.js';
import { parseRunLog, type RunLine } from '../../src/audit/run-log.js';
import { openDatabase, type BelfryDatabase } from '../../src/store/database.js';
import { migrate } from '../../src/store/migrator.js';
import { spawnReplica, type ReplicaHandle } from '../support/cluster.js';
import { defineJob, defineTrigger } from '../support/fixtures.js';

const REPLICA = fileURLToPath(new URL('./ha-replica.ts', import.meta.url));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface ReplicaUrls {
  name: string;
  databaseUrl: string;
  sessionUrl?: string;
}

export interface FaultMark {
  label: string;
  at: number;
}

export interface ResumeMeasure {
  label: string;
  /** Longest stretch without a handler run, from shortly before the fault (ms). */
  gapMs: number;
  /** From the fault to the first run after that stretch (ms). */
  resumeMs: number;
}

export interface ScenarioResult {
  report: AuditReport;
  resumes: ResumeMeasure[];
  runs: number;
  /** Fires that ran more than once with attempt 1: the same idempotency key twice (a re-fire). */
  refires: { trigger: string; scheduledAt: string; runs: number }[];
  /** Execution attempts by status in the window. */
  statuses: Record<string, number>;
}

export class HaScenario {
  readonly schema = `ha_${randomBytes(3).toString('hex')}`;
  readonly runLogPath = join(process.cwd(), '.tmp', `ha-runs-${randomBytes(4).toString('hex')}.jsonl`);
  replicas: ReplicaHandle[] = [];
  database: BelfryDatabase | undefined;
  windowStart = new Date(0);
  readonly faults: FaultMark[] = [];

  constructor(
    private readonly adminUrl: string,
    private readonly log: (line: string) => void,
  ) {}

  async setUp(options: { triggers: number; leadMs?: number }): Promise<void> {
    this.database = openDatabase({ connectionString: this.adminUrl, schema: this.schema, maxConnections: 3 });
    await migrate(this.database.pool, this.schema);
    const ex = { db: this.database.db, schema: this.schema };
    await defineJob(ex, 'tick', { recover: true });
    const {
      rows: [clock],
    } = await sql<{ now: Date }>`SELECT now() AS now`.execute(this.database.db);
    this.windowStart = new Date(Math.ceil(clock!.now.getTime() / 1000) * 1000 + (options.leadMs ?? 8_000));
    for (let i = 0; i < options.triggers; i += 1) {
      await defineTrigger(
        ex,
        { name: `tick-${i}`, job: 'tick', spec: { kind: 'interval', everyMs: 1000 } },
        this.windowStart,
      );
    }
  }

  start(urls: ReplicaUrls): ReplicaHandle {
    const replica = spawnReplica({
      name: urls.name,
      databaseUrl: urls.databaseUrl,
      schema: this.schema,
      command: [process.execPath, '--import', 'tsx', REPLICA],
      env: {
        RUN_LOG: this.runLogPath,
        ...(urls.sessionUrl ? { BELFRY_SESSION_DATABASE_URL: urls.sessionUrl } : {}),
      },
    });
    this.replicas.push(replica);
    return replica;
  }

  mark(label: string): void {
    this.faults.push({ label, at: Date.now() });
  }

  async waitForWindow(extraMs = 0): Promise<void> {
    while (Date.now() < this.windowStart.getTime() + extraMs) await sleep(100);
  }

  /** Stops the replicas (SIGTERM), then audits [windowStart, until) through `auditUrl`. */
  async finish(until: Date, auditUrl = this.adminUrl): Promise<ScenarioResult> {
    for (const replica of this.replicas)
      if (replica.child.exitCode === null && replica.child.signalCode === null) replica.child.kill('SIGTERM');
    await Promise.all(this.replicas.map((replica) => replica.exited));
    await this.database?.destroy();
    this.database = openDatabase({ connectionString: auditUrl, schema: this.schema, maxConnections: 3 });
    const db = this.database.db;
    const runLog = parseRunLog(readFileSync(this.runLogPath, 'utf8'));
    const window = { since: this.windowStart, until };
    const report = await auditHistory({ db, schema: this.schema }, { ...window, runLog });
    const { rows } = await sql<{ status: string; n: number }>`
      SELECT status, count(*)::int AS n FROM ${sql.table(`${this.schema}.job_history`)}
       WHERE scheduled_at >= ${window.since} AND scheduled_at < ${until} GROUP BY status`.execute(db);
    const inWindow = runLog.runs.filter(
      (run) => run.scheduledAt >= window.since && run.scheduledAt < window.until,
    );
    return {
      report,
      resumes: measureResumes(inWindow, this.faults),
      runs: inWindow.length,
      refires: findRefires(inWindow),
      statuses: Object.fromEntries(rows.map((row) => [row.status, row.n])),
    };
  }

  async tearDown(options: { keepRunLog: boolean }): Promise<void> {
    for (const replica of this.replicas)
      if (replica.child.exitCode === null && replica.child.signalCode === null) replica.child.kill('SIGKILL');
    await Promise.all(this.replicas.map((replica) => replica.exited));
    await this.database?.destroy().catch(() => {});
    if (!options.keepRunLog) rmSync(this.runLogPath, { force: true });
  }
}

/**
 * For each fault: the longest stretch without any handler run that ends after the fault and starts no
 * earlier than 10 s before it (a fault prepared before it is marked, such as frozen replication, may
 * stop firing early) nor after 30 s (or 1 s before the next fault); and when runs resumed, counted from
 * the fault.
 */
export function measureResumes(runs: RunLine[], faults: FaultMark[]): ResumeMeasure[] {
  const times = runs.map((run) => run.wallTime.getTime()).sort((a, b) => a - b);
  const starts = faults.map((fault) => fault.at).sort((a, b) => a - b);
  return faults.map(({ label, at }) => {
    const previous = [...starts].reverse().find((start) => start < at) ?? -Infinity;
    const next = starts.find((start) => start > at) ?? Infinity;
    const from = Math.max(at - 10_000, previous + 1_000);
    const until = Math.min(at + 30_000, next - 1_000);
    let best = { gapMs: 0, resumeMs: 0 };
    for (let i = 1; i < times.length; i += 1) {
      const before = times[i - 1]!;
      if (before < from || before > until || times[i]! <= at) continue;
      const gap = times[i]! - before;
      if (gap > best.gapMs) best = { gapMs: gap, resumeMs: times[i]! - at };
    }
    return { label, ...best };
  });
}

/** Fires whose first attempt ran more than once: re-fired, with the same idempotency key. */
export function findRefires(runs: RunLine[]): ScenarioResult['refires'] {
  const counts = new Map<string, number>();
  for (const run of runs) {
    if (run.attempt !== 1) continue;
    const key = `${run.trigger}@${run.scheduledAt.toISOString()}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts]
    .filter(([, n]) => n > 1)
    .map(([key, runs]) => {
      const [trigger, scheduledAt] = key.split('@') as [string, string];
      return { trigger, scheduledAt, runs };
    });
}
