/** `belfry trigger NAME` (one trigger with its recent executions) and `belfry delete` (a trigger or a job). */
import type { Command } from 'commander';
import { removeJob, removeTrigger } from '../operations/delete-operations.js';
import { requireTrigger } from '../operations/name-checks.js';
import { queryHistory } from '../store/history-store.js';
import { withDatabase, withDatabaseFlags, type DatabaseFlags } from './database-command.js';
import { ATTEMPT_COLUMNS, UsageError } from './history-command.js';
import { formatTable, printJson } from './output.js';

export function registerTriggerCommands(program: Command): void {
  withDatabaseFlags(
    program.command('trigger <name>').description('show one trigger and its recent executions'),
  )
    .option('--limit <n>', 'recent executions to show', '10')
    .option('--json', 'JSON output')
    .action(async (name: string, flags: DatabaseFlags & { limit: string; json?: boolean }) => {
      const limit = Number(flags.limit);
      if (!Number.isInteger(limit) || limit < 1)
        throw new UsageError(`--limit must be a positive integer, got "${flags.limit}"`);
      const { trigger, recent } = await withDatabase(flags, async (ex) => ({
        trigger: await requireTrigger(ex, name),
        recent: await queryHistory(ex, { trigger: name, limit }),
      }));
      if (flags.json) return printJson({ ...trigger, recentExecutions: recent });
      const lines = [
        `trigger   ${trigger.name} (${trigger.state})`,
        ...(trigger.pausedReason ? [`paused    ${trigger.pausedReason}`] : []),
        `job       ${trigger.job}`,
        `group     ${trigger.group}   priority ${trigger.priority}`,
        `schedule  ${JSON.stringify(trigger.spec)}${trigger.calendarName ? `   calendar ${trigger.calendarName}` : ''}`,
        `next      ${trigger.nextFireAt?.toISOString() ?? '-'}   previous ${trigger.previousFireAt?.toISOString() ?? '-'}`,
        `misfire   ${trigger.misfirePolicy} after ${trigger.misfireThresholdMs} ms   fired ${trigger.timesFired} times`,
        '',
        formatTable(
          recent as unknown as Record<string, unknown>[],
          ATTEMPT_COLUMNS.filter((column) => column !== 'trigger' && column !== 'job'),
        ),
      ];
      process.stdout.write(`${lines.join('\n')}\n`);
    });

  withDatabaseFlags(
    program.command('delete').description('delete a trigger, or a job with its triggers (history is kept)'),
  )
    .option('--trigger <name>')
    .option('--job <name>')
    .option('--json', 'JSON output')
    .action(async (flags: DatabaseFlags & { trigger?: string; job?: string; json?: boolean }) => {
      if (!flags.trigger === !flags.job) throw new UsageError('name exactly one of --trigger or --job');
      const result = await withDatabase(flags, async (ex) => {
        if (flags.trigger) {
          await removeTrigger(ex, flags.trigger);
          return { trigger: flags.trigger, deleted: true };
        }
        const { triggers } = await removeJob(ex, flags.job!);
        return { job: flags.job, deleted: true, triggers };
      });
      if (flags.json) return printJson(result);
      process.stdout.write(
        `deleted ${flags.trigger ? `trigger ${flags.trigger}` : `job ${flags.job} and ${(result as { triggers: number }).triggers} trigger(s)`}\n`,
      );
    });
}
