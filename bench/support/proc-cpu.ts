/**
 * CPU time (and resident memory) from /proc, for a cost per fire that a loaded machine does not inflate the way it inflates
 * wall times: the replicas' processes and the PostgreSQL backends serving them (their connections stay
 * open in the replicas' pools, so the backends' counters cover a whole run). The same measure as
 * bench/profile-drain.ts.
 */
import { readFileSync } from 'node:fs';
import type pg from 'pg';
import { round } from './stats.js';

const CLOCK_TICKS = 100;

/** A process's resident memory in MB, from /proc (no `ps` child: a blocking spawn stalls the loop). */
export function rssMb(pid: number): number {
  try {
    const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return kb ? Number(kb[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

/** CPU time (user + system, ms) a process has used so far; 0 where there is no /proc. */
export function cpuMs(pid: number): number {
  try {
    // Fields 14 and 15 of /proc/PID/stat, after the parenthesized command name (which may hold spaces).
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1_000) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}

export interface CpuSnapshot {
  /** The replicas' CPU so far, ms. */
  node: number;
  /** Per backend pid of the replicas' connections, ms. */
  backends: Map<number, number>;
}

/** The replicas' CPU, and that of the backends of `database` whose application name starts with belfry. */
export async function cpuSnapshot(
  pool: pg.Pool,
  database: string,
  pids: readonly number[],
): Promise<CpuSnapshot> {
  const { rows } = await pool.query<{ pid: number }>(
    `SELECT pid FROM pg_stat_activity WHERE datname = $1 AND application_name LIKE 'belfry%'`,
    [database],
  );
  const backends = new Map(rows.map((row) => [row.pid, cpuMs(row.pid)]));
  return { node: pids.reduce((sum, pid) => sum + cpuMs(pid), 0), backends };
}

/** CPU µs per fire between two snapshots: the replicas (node) and their backends (postgres). */
export function cpuPerFireUs(
  before: CpuSnapshot,
  after: CpuSnapshot,
  fires: number,
): { node: number | null; postgres: number | null } {
  let postgres = 0;
  for (const [pid, ms] of after.backends) postgres += ms - (before.backends.get(pid) ?? 0);
  return {
    node: round(((after.node - before.node) * 1_000) / fires, 0),
    postgres: round((postgres * 1_000) / fires, 0),
  };
}
