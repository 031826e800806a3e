/**
 * `belfry audit`: check the history of a window against the exactly-once promises. Exit 1 on a violation.
 * With `--run-log FILE`, also hold the handlers' own record of their runs (src/audit/run-log.ts) against
 * the history: the only way to see a handler that ran twice, since the fire rows stay right even then.
 */
import { readFileSync } from 'node:fs';
import { InvalidArgumentError, type Command } from 'commander';
import { auditHistory } from '../audit/history-auditor.js';
import { DEFAULT_DEATH_TOLERANCE_MS } from '../audit/run-log-checker.js';
import { parseRunLog, type RunLog } from '../audit/run-log.js';
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
    .option(
      '--run-log <file>',
      'a run log your handlers wrote (one JSON line per start: see docs/audit.md) to check against the history',
    )
    .option(
      '--death-tolerance <ms>',
      'slack before a run counts as started after its instance was declared dead',
      parseMilliseconds,
      DEFAULT_DEATH_TOLERANCE_MS,
    )
    .option('--json', 'JSON report')
    .action(
      async (
        flags: DatabaseFlags & {
          since: string;
          until: string;
          trigger?: string;
          runLog?: string;
          deathTolerance: number;
          json?: boolean;
        },
      ) => {
        const now = systemClock.now();
        const since = parseTimeFlag(flags.since, '--since', now);
        const until = parseTimeFlag(flags.until, '--until', now);
        const runLog = flags.runLog === undefined ? undefined : readRunLog(flags.runLog);
        const report = await withDatabase(flags, (ex) =>
          auditHistory(ex, {
            since,
            until,
            triggerPattern: flags.trigger,
            runLog,
            deathToleranceMs: flags.deathTolerance,
          }),
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
          for (const m of report.misfirePolicyViolations)
            process.stdout.write(
              `  misfire policy: ${m.trigger} outage from ${m.outageFrom.toISOString()} decided at ${m.decidedAt.toISOString()}: ${m.detail}\n`,
            );
          for (const v of report.continuations.violations)
            process.stdout.write(
              `  ${v.kind}: ${v.trigger} after upstream fire ${v.upstreamFireId} at ${v.scheduledAt.toISOString()}: ${v.detail}\n`,
            );
          if (report.runLog) {
            const r = report.runLog;
            process.stdout.write(
              `  run log: ${r.runsChecked} runs, ${r.attemptsChecked} attempts, ${r.violations.length} violations\n`,
            );
            for (const v of r.violations)
              process.stdout.write(
                `  ${v.kind}: ${v.trigger} at ${v.scheduledAt?.toISOString() ?? '-'}${v.executionId ? ` (execution ${v.executionId})` : ''}: ${v.detail}\n`,
              );
            if (r.unplacedPids.length > 0)
              process.stdout.write(
                `  not judged for runs after death (no clock line): pids ${r.unplacedPids.join(', ')}\n`,
              );
          }
        }
        if (!report.ok) process.exitCode = 1;
      },
    );
}

function readRunLog(file: string): RunLog {
  try {
    return parseRunLog(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new InvalidArgumentError(`cannot read the run log ${file}: ${(error as Error).message}`);
  }
}

function parseMilliseconds(value: string): number {
  const ms = Number(value);
  if (!Number.isFinite(ms) || ms < 0) throw new InvalidArgumentError('expected a number of milliseconds');
  return ms;
}
