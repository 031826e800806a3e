/**
 * `belfry history`: the audit trail, filtered, as a table, JSON or CSV. With `--admin`, the admin API's
 * audit trail instead (who paused, resumed, fired or deleted what through the API).
 */
import { Option, type Command } from 'commander';
import {
  EXECUTION_STATUSES,
  HistoryFilterError,
  cliFlagLabel,
  toHistoryFilter,
} from '../api/history-filter.js';
import { AuditFilterError, toAdminAuditFilter } from '../api/audit-routes.js';
import { queryAdminAudit, type AdminAuditFilter } from '../store/admin-audit-store.js';
import { queryHistory, type HistoryFilter } from '../store/history-store.js';
import type { ExecutionStatus } from '../store/tables.js';
import { systemClock } from '../time/clock.js';
import { withDatabase, withDatabaseFlags, type DatabaseFlags } from './database-command.js';
import { formatCsv, formatTable, printJson } from './output.js';
import { UsageError } from './usage-error.js';
import { printDeadLetters } from './operation-commands.js';

export const STATUSES: ExecutionStatus[] = [...EXECUTION_STATUSES];

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
  admin?: boolean;
  dead?: boolean;
  actor?: string;
}

/** Filters of execution history that mean nothing for the admin audit trail. */
const EXECUTION_ONLY_FLAGS = [
  'job',
  'trigger',
  'group',
  'status',
  'instance',
  'minDuration',
  'error',
] as const;

/** The `--admin` filter: the same checks and messages as `GET /api/v1/audit`. */
export function adminAuditFilterFromFlags(flags: HistoryFlags, now: Date): AdminAuditFilter {
  const stray = EXECUTION_ONLY_FLAGS.find((flag) => flags[flag] !== undefined);
  if (stray) throw new UsageError(`${cliFlagLabel(stray)} filters executions; it does not apply to --admin`);
  const { actor, since, until, limit } = flags;
  try {
    return toAdminAuditFilter({ actor, since, until, limit }, now, (field) => `--${field}`);
  } catch (failure) {
    if (failure instanceof AuditFilterError) throw new UsageError(failure.message);
    throw failure;
  }
}

const ADMIN_COLUMNS = ['at', 'actor', 'method', 'path', 'status', 'remoteAddress'];
const ADMIN_CSV_COLUMNS = [
  'id',
  'at',
  'actor',
  'scope',
  'method',
  'operation',
  'path',
  'status',
  'remoteAddress',
  'userAgent',
  'instanceId',
];

// Defined beside the commands that share them; re-exported for this module's importers.
export { parseTimeFlag, UsageError } from './usage-error.js';

/** The same filter, checks and messages as `GET /api/v1/history` (api/history-filter.ts). */
export function historyFilterFromFlags(flags: HistoryFlags, now: Date): HistoryFilter {
  const { job, trigger, group, status, instance, since, until, minDuration, error, limit } = flags;
  try {
    return toHistoryFilter(
      { job, trigger, group, status, instance, since, until, minDuration, error, limit },
      now,
      cliFlagLabel,
    );
  } catch (failure) {
    if (failure instanceof HistoryFilterError) throw new UsageError(failure.message);
    throw failure;
  }
}

/** The table columns of an execution attempt (also `belfry trigger show`, less the trigger and job it names). */
export const ATTEMPT_COLUMNS = [
  'scheduledAt',
  'trigger',
  'job',
  'attempt',
  'status',
  'instance',
  'lagMs',
  'durationMs',
  'error',
];
const CSV_COLUMNS = [
  'executionId',
  'job',
  'trigger',
  'triggerGroup',
  'scheduledAt',
  'firedAt',
  'startedAt',
  'finishedAt',
  'lagMs',
  'durationMs',
  'instance',
  'attempt',
  'status',
  'error',
  'traceId',
];

export function registerHistoryCommand(program: Command): void {
  withDatabaseFlags(
    program.command('history').description('query the audit history (one row per execution attempt)'),
  )
    .option('--job <name>')
    .option('--trigger <name>')
    .option('--group <name>')
    .option('--status <status...>', `one or more of ${STATUSES.join(', ')} (comma-separated or repeated)`)
    .option('--instance <name-or-id>')
    .option('--since <instant-or-duration>', 'e.g. 2026-01-01T00:00:00Z or 24h (ago)')
    .option('--until <instant-or-duration>')
    .option('--min-duration <duration>', 'e.g. 5s')
    .option('--error <text>', 'error message contains')
    .option('--limit <n>', 'rows at most', '100')
    .addOption(new Option('--json', 'JSON array').conflicts('csv'))
    .option('--csv', 'CSV')
    .option('--admin', 'the admin API audit trail (who changed what through the API) instead')
    .option('--dead', 'dead letters instead: fires whose last attempt failed with no retry left')
    .option('--actor <token-name>', 'with --admin: admin, read-only or anonymous')
    .action(async (flags: HistoryFlags) => {
      if (flags.admin) return printAdminAudit(flags);
      if (flags.dead) return printDeadLetters(flags);
      if (flags.actor !== undefined) throw new UsageError('--actor applies to --admin only');
      const filter = historyFilterFromFlags(flags, systemClock.now());
      const rows = await withDatabase(flags, (ex) => queryHistory(ex, filter));
      if (flags.json) return printJson(rows);
      const records = rows as unknown as Record<string, unknown>[];
      process.stdout.write(
        `${flags.csv ? formatCsv(records, CSV_COLUMNS) : formatTable(records, ATTEMPT_COLUMNS)}\n`,
      );
    });
}

async function printAdminAudit(flags: HistoryFlags): Promise<void> {
  const filter = adminAuditFilterFromFlags(flags, systemClock.now());
  const rows = await withDatabase(flags, (ex) => queryAdminAudit(ex, filter));
  if (flags.json) return printJson(rows);
  const records = rows.map((row) => ({ ...row, target: row.target && JSON.stringify(row.target) }));
  process.stdout.write(
    `${flags.csv ? formatCsv(records, ADMIN_CSV_COLUMNS) : formatTable(records, ADMIN_COLUMNS)}\n`,
  );
}
