/**
 * `belfry dev`'s readable view of a replica's JSON log: one line per fire outcome, and the cluster's
 * notable moments told in words (an instance declared dead, an execution recovered, a new leader and its
 * epoch). The `msg` texts and fields it reads are the contract of the LoggingListener
 * (src/listeners/builtin/logging-listener.ts) and the cluster's log lines.
 */
export const COLORS = ['\x1b[36m', '\x1b[35m', '\x1b[33m', '\x1b[32m', '\x1b[34m'];
export const RESET = '\x1b[0m';

/** The line to print for one line of `replica`'s stdout; undefined for the lines not worth showing. */
export function formatReplicaLine(line: string, replica: string, color: string): string | undefined {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return `${color}${replica}${RESET} ${line}`;
  }
  const time = typeof entry.time === 'string' ? entry.time.slice(11, 23) : '';
  const who = `${color}${replica.padEnd(10)}${RESET}`;
  if (
    entry.msg === 'execution finished' ||
    entry.msg === 'execution skipped' ||
    entry.msg === 'trigger misfired'
  ) {
    return `${time}  ${who} ${outcome(entry)}`;
  }
  const told = clusterMoment(entry);
  if (told === null) return undefined;
  if (told) return `${time}  ${who} · ${told}`;
  if (Number(entry.level) >= 40 || /leader|started|stopped|dead|listening/.test(String(entry.msg))) {
    const extra =
      entry.epoch !== undefined
        ? ` epoch ${entry.epoch}`
        : entry.reason
          ? ` (${entry.reason})`
          : entry.url
            ? ` ${entry.url}`
            : '';
    return `${time}  ${who} · ${String(entry.msg)}${extra}`;
  }
  return undefined;
}

function outcome(entry: Record<string, unknown>): string {
  const status = String(entry.status);
  const mark =
    status === 'succeeded'
      ? '\x1b[32m✓'
      : status === 'skipped' || status === 'misfired'
        ? '\x1b[33m-'
        : '\x1b[31m✗';
  const detail = [
    entry.attempt && Number(entry.attempt) > 1 ? `attempt ${entry.attempt}` : '',
    entry.durationMs !== undefined ? `${entry.durationMs} ms` : '',
    entry.retryInMs ? `retry in ${entry.retryInMs} ms` : '',
    entry.error ? String(entry.error) : '',
  ]
    .filter(Boolean)
    .join(', ');
  return `${mark} ${String(entry.trigger).padEnd(22)} ${status}${RESET}${detail ? `  (${detail})` : ''}`;
}

/**
 * The failover story in words; null for a duplicate. The cluster logs each moment, and the execution
 * log (the LoggingListener, component "executions") logs it again: the listener's line is the one shown.
 * The leader logs deaths and recoveries, so the replica named on those lines is the leader.
 */
function clusterMoment(entry: Record<string, unknown>): string | null | undefined {
  const reason = entry.reason ? ` (${String(entry.reason)})` : '';
  const fromListener = entry.component === 'executions';
  switch (entry.msg) {
    case 'instance declared dead':
      return fromListener ? `declared ${String(entry.dead)} dead${reason}` : null;
    case 'execution re-dispatched':
      return `recovered an execution of ${String(entry.job)} from a dead instance: re-dispatched`;
    case 'execution abandoned':
      return `an execution of ${String(entry.job)} died with its instance: abandoned (the job is not recover: true)`;
    case 'elected leader':
      return null;
    case 'leader elected':
      return `new leader, epoch ${String(entry.epoch)}`;
    case 'leadership lost':
      return fromListener ? `lost the leadership (epoch ${String(entry.epoch)})${reason}` : null;
    default:
      return undefined;
  }
}

/** The scheduled time of a fire outcome line, for the audit of the session (it starts at the first). */
export function fireScheduledAt(line: string): Date | undefined {
  if (!line.includes('"execution finished"')) return undefined;
  try {
    const entry = JSON.parse(line) as { msg?: unknown; scheduledAt?: unknown };
    return entry.msg === 'execution finished' && typeof entry.scheduledAt === 'string'
      ? new Date(entry.scheduledAt)
      : undefined;
  } catch {
    return undefined;
  }
}
