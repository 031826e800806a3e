/** `belfry audit`: check the history of a window against the exactly-once promises. Exit 1 on a violation. */
import type { Command } from 'commander';
import { auditHistory } from '../audit/history-auditor.js';
import { systemClock } from '../time/clock.js';
import { withDatabase, withDatabaseFlags, type DatabaseFlags } from './database-command.js';
import { parseTimeFlag } from './history-command.js';
import { printJson } from './output.js';

export function registerAuditCommand(program: Command): void {
  withDatabaseFlags(
    program
      .command('audit')
      .description(
        'check that every scheduled fire in a window happened exactly once, and every execution ended',
      ),
  )
    .requiredOption('--since <instant-or-duration>', 'window start, e.g. 1h (ago) or an ISO instant')
    .option(
      '--until <instant-or-duration>',
      'window end (default: 10 s ago, so in-flight fires are not judged)',
      '10s',
    )
    .option('--trigger <pattern>', 'only triggers whose name matches this SQL LIKE pattern')
    .option('--json', 'JSON report')
    .action(
      async (flags: DatabaseFlags & { since: string; until: string; trigger?: string; json?: boolean }) => {
        const now = systemClock.now();
        const since = parseTimeFlag(flags.since, '--since', now);
        const until = parseTimeFlag(flags.until, '--until', now);
        const report = await withDatabase(flags, (ex) =>
          auditHistory(ex, { since, until, triggerPattern: flags.trigger }),
        );
        if (flags.json) printJson(report);
        else {
          process.stdout.write(
            `${report.ok ? 'OK' : 'VIOLATIONS'}: ${report.triggersChecked} triggers, ${report.firesExpected} expected fires from ${since.toISOString()} to ${until.toISOString()}\n`,
          );
          for (const v of report.fireViolations)
            process.stdout.write(
              `  ${v.kind} fire: ${v.trigger} at ${v.scheduledAt.toISOString()} (${v.count} recorded)\n`,
            );
          for (const a of report.executionAnomalies)
            process.stdout.write(
              `  ${a.kind}: ${a.trigger} at ${a.scheduledAt.toISOString()}: ${a.detail}\n`,
            );
          for (const s of report.staleEpochWrites)
            process.stdout.write(`  stale epoch ${s.epoch}: execution ${s.executionId}: ${s.detail}\n`);
        }
        if (!report.ok) process.exitCode = 1;
      },
    );
}
