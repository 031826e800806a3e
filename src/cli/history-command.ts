/** `belfry history`: the audit trail, filtered, as a table, JSON or CSV. */
import { Option, type Command } from 'commander';
import { queryHistory, type HistoryFilter } from '../store/history-store.js';
import type { ExecutionStatus } from '../store/tables.js';
import { systemClock } from '../time/clock.js';
import { parseDuration } from '../time/duration.js';
import { withDatabase, withDatabaseFlags, type DatabaseFlags } from './database-command.js';
import { formatCsv, formatTable, printJson } from './output.js';

export const STATUSES: ExecutionStatus[] = ['pending', 'running', 'succeeded', 'failed', 'timed_out', 'skipped', 'vetoed', 'misfired', 'recovered', 'abandoned'];

interface HistoryFlags extends DatabaseFlags {
  job?: string;
  trigger?: string;
  group?: string;
  status?: string[];
  instance?: string;
  since?: string;
  until?: string;
  minDuration?: string;
  error?: string;
  limit: string;
  json?: boolean;
  csv?: boolean;
}

export class UsageError extends Error {
  readonly code = 'BELFRY_USAGE';
}

/** An instant, or a duration meaning "that long ago" (`--since 24h`). */
export function parseTimeFlag(value: string, flag: string, now: Date): Date {
  if (/^\d+(\.\d+)?(ms|s|m|h|d)/.test(value)) return new Date(now.getTime() - parseDuration(value));
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) throw new UsageError(`${flag} "${value}" is neither an ISO 8601 instant nor a duration such as 24h`);
  return date;
}

export function historyFilterFromFlags(flags: HistoryFlags, now: Date): HistoryFilter {
  const status = flags.status?.flatMap((s) => s.split(',')) as ExecutionStatus[] | undefined;
  for (const s of status ?? []) if (!STATUSES.includes(s)) throw new UsageError(`unknown status "${s}" (one of ${STATUSES.join(', ')})`);
  const limit = Number(flags.limit);
  if (!Number.isInteger(limit) || limit < 1) throw new UsageError(`--limit must be a positive integer, got "${flags.limit}"`);
  const filter: HistoryFilter = {
    job: flags.job,
    trigger: flags.trigger,
    group: flags.group,
    status,
    instance: flags.instance,
    since: flags.since ? parseTimeFlag(flags.since, '--since', now) : undefined,
    until: flags.until ? parseTimeFlag(flags.until, '--until', now) : undefined,
    minDurationMs: flags.minDuration ? parseDuration(flags.minDuration) : undefined,
    errorContains: flags.error,
    limit,
  };
  if (filter.since && filter.until && filter.since >= filter.until) throw new UsageError('--since must be before --until');
  return filter;
}

const COLUMNS = ['scheduledAt', 'trigger', 'job', 'attempt', 'status', 'instance', 'lagMs', 'durationMs', 'error'];

export function registerHistoryCommand(program: Command): void {
  withDatabaseFlags(program.command('history').description('query the audit history (one row per execution attempt)'))
    .option('--job <name>')
    .option('--trigger <name>')
    .option('--group <name>')
    .option('--status <status...>', `one or more of ${STATUSES.join(', ')}`)
    .option('--instance <name-or-id>')
    .option('--since <instant-or-duration>', 'e.g. 2026-01-01T00:00:00Z or 24h (ago)')
    .option('--until <instant-or-duration>')
    .option('--min-duration <duration>', 'e.g. 5s')
    .option('--error <text>', 'error message contains')
    .option('--limit <n>', 'rows at most', '100')
    .addOption(new Option('--json', 'JSON array').conflicts('csv'))
    .option('--csv', 'CSV')
    .action(async (flags: HistoryFlags) => {
      const filter = historyFilterFromFlags(flags, systemClock.now());
      const rows = await withDatabase(flags, (ex) => queryHistory(ex, filter));
      if (flags.json) return printJson(rows);
      const records = rows as unknown as Record<string, unknown>[];
      process.stdout.write(`${flags.csv ? formatCsv(records, Object.keys(rows[0] ?? {})) : formatTable(records, COLUMNS)}\n`);
    });
}
