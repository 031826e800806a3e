/**
 * Hands-on operations (docs/continuations.md): `belfry retry EXECUTION_ID`, `belfry rerun FIRE_ID`,
 * `belfry cancel EXECUTION_ID`, `belfry backfill TRIGGER --from --to`, and `belfry dead-letters` (list,
 * retry one or in bulk, discard). The same operations as the library and the API (src/operations/); each
 * records who asked as `cli:USER` (the operating-system user).
 */
import { userInfo } from 'node:os';
import type { Command } from 'commander';
import { backfill } from '../operations/backfill-operations.js';
import {
  cancelExecution,
  discardDeadLetter,
  listDeadLetters,
  rerunFire,
  retryDeadLetter,
  retryDeadLetters,
  retryExecution,
  type DeadLetterFilter,
  type RequestedAttempt,
} from '../operations/execution-operations.js';
import { systemClock } from '../time/clock.js';
import { parseInstant } from '../time/schedule.js';
import { withDatabase, withDatabaseFlags, type DatabaseFlags } from './database-command.js';
import { parseTimeFlag, UsageError } from './usage-error.js';
import { formatTable, printJson } from './output.js';

interface JsonFlag {
  json?: boolean;
}

export interface DeadLetterFlags extends DatabaseFlags, JsonFlag {
  job?: string;
  trigger?: string;
  since?: string;
  until?: string;
  error?: string;
  limit: string;
}

export const DEAD_LETTER_COLUMNS = [
  'fireId',
  'executionId',
  'scheduledAt',
  'trigger',
  'job',
  'attempt',
  'status',
  'error',
];

function requestedBy(): string {
  try {
    return `cli:${userInfo().username}`;
  } catch {
    return 'cli';
  }
}

function positiveInt(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new UsageError(`${flag} must be a positive integer, got "${value}"`);
  return n;
}

/** The dead-letter filter of `history --dead` and `dead-letters`. */
export function deadLetterFilterFromFlags(flags: DeadLetterFlags): DeadLetterFilter {
  const now = systemClock.now();
  return {
    job: flags.job,
    trigger: flags.trigger,
    since: flags.since === undefined ? undefined : parseTimeFlag(flags.since, '--since', now),
    until: flags.until === undefined ? undefined : parseTimeFlag(flags.until, '--until', now),
    errorContains: flags.error,
    limit: positiveInt(flags.limit, '--limit'),
  };
}

function printAttempt(result: RequestedAttempt, what: string, flags: JsonFlag): void {
  if (flags.json) return printJson(result);
  process.stdout.write(
    `${what}: fire ${result.fireId} (${result.trigger}, job ${result.job}) attempt ${result.attempt} is pending as execution ${result.executionId}\n`,
  );
}

function filterOptions(command: Command): Command {
  return command
    .option('--job <name>')
    .option('--trigger <name>')
    .option('--since <instant-or-duration>', 'scheduled at or after, e.g. 24h (ago)')
    .option('--until <instant-or-duration>', 'scheduled before')
    .option('--error <text>', 'error message contains')
    .option('--limit <n>', 'dead letters at most', '100');
}

export function registerOperationCommands(program: Command): void {
  withDatabaseFlags(
    program
      .command('retry <executionId>')
      .description(
        "add an attempt to a failed fire (same fire, same idempotency key); its latest attempt's id",
      ),
  )
    .option('--json', 'JSON output')
    .action(async (executionId: string, flags: DatabaseFlags & JsonFlag) => {
      const result = await withDatabase(flags, (ex) =>
        retryExecution(ex, { executionId, requestedBy: requestedBy() }),
      );
      printAttempt(result, 'retry', flags);
    });

  withDatabaseFlags(
    program
      .command('rerun <fireId>')
      .description('run a fire that succeeded again (recorded as a manual re-run)'),
  )
    .option('--json', 'JSON output')
    .action(async (fireId: string, flags: DatabaseFlags & JsonFlag) => {
      const result = await withDatabase(flags, (ex) => rerunFire(ex, { fireId, requestedBy: requestedBy() }));
      printAttempt(result, 're-run', flags);
    });

  withDatabaseFlags(
    program
      .command('cancel <executionId>')
      .description('cancel a pending or running execution (aborts its signal on the replica that runs it)'),
  )
    .option('--json', 'JSON output')
    .action(async (executionId: string, flags: DatabaseFlags & JsonFlag) => {
      const result = await withDatabase(flags, (ex) =>
        cancelExecution(ex, { executionId, requestedBy: requestedBy() }),
      );
      if (flags.json) return printJson(result);
      process.stdout.write(
        `cancelled execution ${executionId} (was ${result.previous}${result.instanceId ? ` on instance ${result.instanceId}` : ''})\n`,
      );
    });

  withDatabaseFlags(
    program
      .command('backfill <trigger>')
      .description("create a past window's fires of a trigger (idempotent, throttled, marked backfill)"),
  )
    .requiredOption('--from <instant>', 'window start (inclusive), e.g. 2026-01-01T00:00:00Z')
    .requiredOption('--to <instant>', 'window end (exclusive), in the past')
    .option(
      '--overlap <policy>',
      'skip: a backfilled run due while another still runs is skipped; allow',
      'skip',
    )
    .option('--rate <per-second>', 'attempts started per second at most', '10')
    .option('--dry-run', 'list what would be created; create nothing')
    .option('--json', 'JSON output')
    .action(
      async (
        trigger: string,
        flags: DatabaseFlags &
          JsonFlag & { from: string; to: string; overlap: string; rate: string; dryRun?: boolean },
      ) => {
        if (flags.overlap !== 'skip' && flags.overlap !== 'allow')
          throw new UsageError(`--overlap must be skip or allow, got "${flags.overlap}"`);
        const rate = Number(flags.rate);
        if (!(rate > 0)) throw new UsageError(`--rate must be a positive number, got "${flags.rate}"`);
        const instant = (value: string, flag: string) => {
          try {
            return parseInstant(value, flag);
          } catch (error) {
            throw new UsageError((error as Error).message);
          }
        };
        const result = await withDatabase(flags, (ex) =>
          backfill(ex, {
            trigger,
            from: instant(flags.from, '--from'),
            to: instant(flags.to, '--to'),
            overlap: flags.overlap as 'skip' | 'allow',
            rate,
            dryRun: flags.dryRun === true,
          }),
        );
        if (flags.json) return printJson(result);
        const verb = result.dryRun ? 'would create' : 'created';
        const lines = [
          `${result.trigger}: ${result.scheduled} scheduled time(s) in the window; ${verb} ${result.created.length}, ${result.alreadyFired} already fired`,
          ...result.created.map((at) => `  ${at.toISOString()}`),
        ];
        process.stdout.write(`${lines.join('\n')}\n`);
      },
    );

  const deadLetters = program
    .command('dead-letters')
    .description('fires whose last attempt failed with no retry left: list, retry, discard');
  filterOptions(withDatabaseFlags(deadLetters.command('list').description('list dead letters, newest first')))
    .option('--json', 'JSON output')
    .action(async (flags: DeadLetterFlags) => printDeadLetters(flags));
  filterOptions(
    withDatabaseFlags(
      deadLetters
        .command('retry [fireId]')
        .description('retry one dead letter, or those a filter matches (a dry run unless --confirm)'),
    ),
  )
    .option('--confirm', 'with a filter: retry them (without it, only list what would be retried)')
    .option('--json', 'JSON output')
    .action(async (fireId: string | undefined, flags: DeadLetterFlags & { confirm?: boolean }) => {
      if (fireId !== undefined) {
        const result = await withDatabase(flags, (ex) =>
          retryDeadLetter(ex, { fireId, requestedBy: requestedBy() }),
        );
        return printAttempt(result, 'retry', flags);
      }
      const filter = deadLetterFilterFromFlags(flags);
      const result = await withDatabase(flags, (ex) =>
        retryDeadLetters(ex, { filter, confirm: flags.confirm === true, requestedBy: requestedBy() }),
      );
      if (flags.json) return printJson(result);
      const head = result.confirmed
        ? `retried ${result.retried.length} of ${result.matched.length} dead letter(s)`
        : `dry run: would retry ${result.matched.length} dead letter(s); add --confirm to retry them`;
      process.stdout.write(
        `${head}\n${formatTable(result.matched as unknown as Record<string, unknown>[], DEAD_LETTER_COLUMNS)}\n`,
      );
    });
  withDatabaseFlags(
    deadLetters.command('discard <fireId>').description('discard a dead letter (kept in the history)'),
  )
    .option('--json', 'JSON output')
    .action(async (fireId: string, flags: DatabaseFlags & JsonFlag) => {
      const result = await withDatabase(flags, (ex) =>
        discardDeadLetter(ex, { fireId, requestedBy: requestedBy() }),
      );
      if (flags.json) return printJson(result);
      process.stdout.write(`discarded dead letter ${fireId}\n`);
    });
}

/** `belfry history --dead` and `belfry dead-letters list`. */
export async function printDeadLetters(flags: DeadLetterFlags): Promise<void> {
  const filter = deadLetterFilterFromFlags(flags);
  const rows = await withDatabase(flags, (ex) => listDeadLetters(ex, filter));
  if (flags.json) return printJson(rows);
  process.stdout.write(`${formatTable(rows as unknown as Record<string, unknown>[], DEAD_LETTER_COLUMNS)}\n`);
}
