/**
 * `belfry dev`'s readable view of a replica's JSON log: one line per fire outcome, the cluster's
 * notable moments told in words (an instance declared dead, an execution recovered, a new leader and its
 * epoch), and one line per trigger for the periods it missed while the cluster was down (ReplicaLogView).
 * The `msg` texts and fields it reads are the contract of the LoggingListener
 * (src/listeners/builtin/logging-listener.ts) and the cluster's log lines.
 */
export const COLORS = ['\x1b[36m', '\x1b[35m', '\x1b[33m', '\x1b[32m', '\x1b[34m'];
export const RESET = '\x1b[0m';

/** The line to print for one line of `replica`'s stdout; undefined for the lines not worth showing. */
export function formatReplicaLine(line: string, replica: string, color: string): string | undefined {
  const entry = parseEntry(line);
  return entry ? formatEntry(entry, replica, color) : `${color}${replica}${RESET} ${line}`;
}

function parseEntry(line: string): Record<string, unknown> | undefined {
  try {
    const entry: unknown = JSON.parse(line);
    return entry !== null && typeof entry === 'object' ? (entry as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function formatEntry(entry: Record<string, unknown>, replica: string, color: string): string | undefined {
  const time = timeOf(entry);
  const who = whoOf(replica, color);
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
  const shard = serviceMoment(entry);
  if (shard) return `${time}  ${who} · ${shard}`;
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

const timeOf = (entry: Record<string, unknown>) =>
  typeof entry.time === 'string' ? entry.time.slice(11, 23) : '';
const whoOf = (replica: string, color: string) => `${color}${replica.padEnd(10)}${RESET}`;

/** What a misfire policy does with the periods an outage missed (src/engine/fire-planner.ts). */
const POLICY_OUTCOME: Record<string, string> = {
  'fire-once-now': 'fired once',
  'fire-all': 'the most recent ones caught up, spaced out (up to the catch-up limit)',
  skip: 'none fired; it goes on from its next period',
};

interface HeldMisfires {
  count: number;
  first: string;
  last: string;
  /** The log time and replica of the first misfire line: the summary is told as that replica's line. */
  time: string;
  who: string;
  lastSeenMs: number;
}

/**
 * All replicas' lines as `belfry dev` prints them. After an outage a trigger logs one `trigger misfired`
 * line per missed period (37 for a minutely trigger stopped for 37 minutes); the view holds them and
 * prints one line per trigger: `trigger T: 37 periods misfired (…) while the cluster was down …; policy
 * fire-once-now: fired once`. A trigger's summary comes out when its next outcome line arrives (so it is
 * printed before it), else once `quietMs` passed without another of its misfires (`due`, on a timer).
 */
export class ReplicaLogView {
  readonly #held = new Map<string, HeldMisfires>();
  readonly #policyOf: (trigger: string) => string | undefined;
  readonly #quietMs: number;

  constructor(options: { policyOf?: (trigger: string) => string | undefined; quietMs?: number } = {}) {
    this.#policyOf = options.policyOf ?? (() => undefined);
    this.#quietMs = options.quietMs ?? 2_000;
  }

  /** The lines to print for one line of `replica`'s stdout, read at `nowMs` (monotonic). */
  lines(line: string, replica: string, color: string, nowMs: number): string[] {
    const entry = parseEntry(line);
    if (!entry) return [`${color}${replica}${RESET} ${line}`];
    const trigger = String(entry.trigger);
    const scheduledAt = typeof entry.scheduledAt === 'string' ? entry.scheduledAt : '';
    if (entry.msg === 'trigger misfired') {
      const held = this.#held.get(trigger);
      if (held) {
        held.count += 1;
        if (scheduledAt < held.first) held.first = scheduledAt;
        if (scheduledAt > held.last) held.last = scheduledAt;
        held.lastSeenMs = nowMs;
      } else {
        const who = whoOf(replica, color);
        this.#held.set(trigger, {
          count: 1,
          first: scheduledAt,
          last: scheduledAt,
          time: timeOf(entry),
          who,
          lastSeenMs: nowMs,
        });
      }
      return [];
    }
    const out: string[] = [];
    if (entry.msg === 'execution finished' || entry.msg === 'execution skipped') {
      const summary = this.#release(trigger);
      if (summary) out.push(summary);
    }
    const text = formatEntry(entry, replica, color);
    if (text !== undefined) out.push(text);
    return out;
  }

  /** The summaries of the triggers whose misfires stopped coming at least `quietMs` before `nowMs`. */
  due(nowMs: number): string[] {
    const quiet = [...this.#held].filter(([, held]) => nowMs - held.lastSeenMs >= this.#quietMs);
    return quiet.map(([trigger]) => this.#release(trigger)!);
  }

  /** Every summary still held (at stop). */
  flush(): string[] {
    return [...this.#held.keys()].map((trigger) => this.#release(trigger)!);
  }

  #release(trigger: string): string | undefined {
    const held = this.#held.get(trigger);
    if (!held) return undefined;
    this.#held.delete(trigger);
    const periods = `${held.count} ${held.count === 1 ? 'period' : 'periods'}`;
    const span = held.first === held.last ? clock(held.first) : `${clock(held.first)} … ${clock(held.last)}`;
    const policy = this.#policyOf(trigger);
    const decided = policy
      ? `; policy ${policy}${POLICY_OUTCOME[policy] ? `: ${POLICY_OUTCOME[policy]}` : ''}`
      : '';
    return (
      `${held.time}  ${held.who} \x1b[33m- trigger ${trigger}: ${periods} misfired (${span}) ` +
      `while the cluster was down or the trigger paused${decided}${RESET}`
    );
  }
}

/** The HH:MM:SS of an ISO time (UTC, as the log lines). */
const clock = (iso: string) => iso.slice(11, 19) || '?';

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
 * A service shard's start, stop, crash or lost lease (src/hosted/), naming the service and shard:
 * `service orders-cdc shard 2 started (epoch 7)`. Only lines with a numeric `shard`: other components
 * use a `service` field for their own name.
 */
function serviceMoment(entry: Record<string, unknown>): string | undefined {
  const msg = String(entry.msg);
  if (typeof entry.service !== 'string' || typeof entry.shard !== 'number' || !msg.startsWith('service '))
    return undefined;
  const name = `service ${entry.service} shard ${entry.shard}`;
  const err = entry.err as { message?: unknown } | undefined;
  const detail = [
    entry.epoch !== undefined ? `epoch ${String(entry.epoch)}` : '',
    entry.reason ? String(entry.reason) : '',
    typeof err?.message === 'string' ? err.message : '',
  ]
    .filter(Boolean)
    .join(', ');
  const event = /^service shard (\w+)$/.exec(msg);
  const what = event ? ` ${event[1]}` : `: ${msg.replace(/^service (shard |run )?/, '')}`;
  const color = Number(entry.level) >= 40 ? '\x1b[33m' : '';
  return `${color}${name}${what}${detail ? ` (${detail})` : ''}${color ? RESET : ''}`;
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
