/**
 * Single keys in `belfry dev`'s terminal that show the promise on demand: kill a replica, stop the
 * leader past its lease, the last history rows, the audit of the session so far.
 *
 * Only on a terminal (stdin and stdout both TTYs): piped or redirected runs read no keys and print what
 * they always printed. Raw mode turns off the terminal's own signals, so Ctrl-C arrives here as the byte
 * 0x03 and is handed to the same stop path a SIGINT takes (`onCtrlC`); the terminal mode is restored on
 * every way out, or the user's shell would be left without echo.
 */
import { auditHistory, type AuditReport } from '../audit/history-auditor.js';
import type { Executor } from '../store/executor.js';
import { queryHistory } from '../store/history-store.js';
import { listInstances } from '../store/instance-store.js';
import { currentLeader } from '../store/leader-store.js';
import type { Clock } from '../time/clock.js';
import type { ReplicaSet } from './replica-set.js';

export const KEYS_HELP =
  'k kill a replica · s stop the leader past its lease · h history · a audit · Ctrl-C stop';

/** Until `belfry audit`'s default: fires younger than this may still be in flight, so are not judged. */
const AUDIT_SETTLE_MS = 10_000;
export const RESTART_DELAY_MS = 3_000;
/** How far past its lease the leader is stopped: long enough that another replica surely takes over. */
const PAST_LEASE_MS = 2_000;

export interface KeyInput {
  isTTY?: boolean;
  setRawMode?(raw: boolean): unknown;
  on(event: 'data', listener: (chunk: Buffer | string) => void): unknown;
  removeListener(event: 'data', listener: (chunk: Buffer | string) => void): unknown;
  resume(): unknown;
  pause(): unknown;
}

/**
 * Reads single keys from the terminal in raw mode; returns the function that restores it (safe to call
 * twice), or undefined when input or output is no terminal (redirected, piped) and nothing was changed.
 */
export function listenForKeys(
  terminal: { input: KeyInput; output: { isTTY?: boolean } },
  handlers: { onKey(key: string): void; onCtrlC(): void },
): (() => void) | undefined {
  const { input } = terminal;
  if (!input.isTTY || !terminal.output.isTTY || !input.setRawMode) return undefined;
  const listener = (chunk: Buffer | string) => {
    for (const key of chunk.toString()) {
      if (key === '\x03') handlers.onCtrlC();
      else handlers.onKey(key.toLowerCase());
    }
  };
  input.setRawMode(true);
  input.on('data', listener);
  input.resume();
  let restored = false;
  return () => {
    if (restored) return;
    restored = true;
    input.removeListener('data', listener);
    input.setRawMode?.(false);
    input.pause();
  };
}

export interface DemoActions {
  replicas: ReplicaSet;
  /** A connection to the local cluster's database, opened on the first key that needs one. */
  executor(): Executor;
  clock: Clock;
  leaseTtlMs: number;
  /**
   * Where the audit of the session starts: the scheduled time of the session's first fire (before it,
   * the replicas were starting, and a trigger created by this session did not exist yet).
   */
  auditSince(): Date | undefined;
  say(line: string): void;
  print(text: string): void;
  /** Rows as an aligned table (the CLI's own format, so `h` looks like `belfry history`). */
  table(rows: Record<string, unknown>[], columns: string[]): string;
  random?: () => number;
}

/** What each key does. One key's work at a time: a key pressed meanwhile says so and does nothing. */
export function demoKeyHandler(actions: DemoActions): (key: string) => void {
  let busy = false;
  const run = (work: () => Promise<void>) => {
    if (busy) return actions.say('busy with the previous key; press it again in a moment');
    busy = true;
    work()
      .catch((error: unknown) => actions.say(`that did not work: ${(error as Error).message}`))
      .finally(() => (busy = false));
  };
  return (key) => {
    if (key === 'k') killRandomReplica(actions);
    else if (key === 's') run(() => stopLeader(actions));
    else if (key === 'h') run(() => printHistory(actions));
    else if (key === 'a') run(() => printAudit(actions));
  };
}

function killRandomReplica({ replicas, say, random = Math.random }: DemoActions): void {
  const live = replicas.live();
  if (live.length === 0) return say('k: no replica is running');
  const victim = live[Math.floor(random() * live.length)]!;
  if (!replicas.kill(victim.name)) return say(`k: ${victim.name} cannot be killed right now`);
  say(
    `k: killed ${victim.name} (SIGKILL, pid ${victim.pid}); it restarts in ${RESTART_DELAY_MS / 1000} s as a new instance, and the leader declares the old one dead and recovers its executions`,
  );
}

async function stopLeader(actions: DemoActions): Promise<void> {
  const { replicas, say } = actions;
  if (replicas.paused) return say('s: a replica is stopped already; wait until it continues');
  const ex = actions.executor();
  const [leader, instances] = await Promise.all([currentLeader(ex), listInstances(ex)]);
  const holder = instances.find((instance) => instance.isLeader);
  const replica = holder && replicas.live().find((live) => live.pid === holder.pid);
  if (!leader.valid || !replica) return say('s: no leader right now; press s again in a moment');
  const ms = actions.leaseTtlMs + PAST_LEASE_MS;
  const paused = replicas.pause(replica.name, ms, () =>
    say(
      `s: continued ${replica.name} (SIGCONT): its epoch ${leader.epoch} is stale now, so it writes nothing as leader`,
    ),
  );
  if (!paused) return say(`s: ${replica.name} cannot be stopped right now`);
  say(
    `s: stopped ${replica.name} (SIGSTOP), the leader at epoch ${leader.epoch}, for ${ms / 1000} s: past its ${actions.leaseTtlMs / 1000} s lease; another replica takes over with a higher epoch`,
  );
}

async function printHistory(actions: DemoActions): Promise<void> {
  const rows = await queryHistory(actions.executor(), { limit: 20 });
  const records = rows.map((row) => ({
    ...row,
    scheduledAt: row.scheduledAt.toISOString().slice(11, 23),
  })) as unknown as Record<string, unknown>[];
  actions.say(`h: the last ${rows.length} history rows (npx belfry history shows more)`);
  actions.print(
    `${actions.table(records, ['scheduledAt', 'trigger', 'attempt', 'status', 'instance', 'lagMs', 'durationMs'])}\n`,
  );
}

async function printAudit(actions: DemoActions): Promise<void> {
  const until = new Date(actions.clock.now().getTime() - AUDIT_SETTLE_MS);
  const since = actions.auditSince();
  if (!since) return actions.say('a: nothing fired yet in this session; press a again in a moment');
  let settledUntil = until;
  if (until <= since) {
    // Too young to judge yet: wait for the first fires to settle instead of asking for another key.
    const waitMs = since.getTime() - until.getTime() + 1_000;
    actions.say(`a: the session's first fires are still settling; auditing in ${Math.ceil(waitMs / 1000)} s`);
    await actions.clock.sleep(waitMs);
    settledUntil = new Date(actions.clock.now().getTime() - AUDIT_SETTLE_MS);
  }
  const report = await auditHistory(actions.executor(), { since, until: settledUntil });
  actions.say(auditVerdict(report));
}

/** One line: the verdict, what was checked, and what failed. */
export function auditVerdict(report: AuditReport): string {
  const window = `${report.window.since.toISOString().slice(11, 19)}–${report.window.until.toISOString().slice(11, 19)} UTC`;
  const checked = `${report.triggersChecked} triggers, ${report.firesExpected} fires expected, ${window}`;
  if (report.ok) return `a: audit passed: every fire exactly once, every execution ended (${checked})`;
  const problems = [
    [report.fireViolations.length, 'fire violations'],
    [report.executionAnomalies.length, 'execution anomalies'],
    [report.staleEpochWrites.length, 'stale-epoch writes'],
    [report.misfirePolicyViolations.length, 'misfire policy violations'],
  ] as const;
  const found = problems
    .filter(([count]) => count > 0)
    .map(([count, what]) => `${count} ${what}`)
    .join(', ');
  return `a: audit FAILED: ${found} (${checked}); npx belfry audit --since ${report.window.since.toISOString()} lists them`;
}
