/**
 * `belfry apply FILE… [--dry-run] [--prune] [--json]`: validates the files, migrates the database, shows
 * the difference and applies it in one transaction (all or nothing). `--dry-run` only shows it.
 */
import type { Command } from 'commander';
import { applyDefinitions, planApply, type ApplyPlan } from '../config/definition-reconciler.js';
import { formatDefinitionError } from '../config/definition-error.js';
import { loadDefinitions } from '../config/definition-loader.js';
import { formatPlan, formatPlanSummary, planToJson } from '../config/plan-format.js';
import { migrate } from '../store/migrator.js';
import { withDatabase, withDatabaseFlags, type DatabaseFlags } from './database-command.js';

export interface ApplyCommandDeps {
  write?: (text: string) => void;
}

interface ApplyFlags extends DatabaseFlags {
  dryRun?: boolean;
  prune?: boolean;
  json?: boolean;
  verbose?: boolean;
}

export function registerApplyCommand(program: Command, deps: ApplyCommandDeps = {}): void {
  const write = deps.write ?? ((text: string) => void process.stdout.write(text));
  withDatabaseFlags(
    program
      .command('apply')
      .description(
        'show the difference between YAML definitions and the database, and apply it in one transaction',
      )
      .argument('<files...>', 'YAML definition files')
      .option('--dry-run', 'show the plan; change nothing')
      .option(
        '--prune',
        'delete jobs, triggers and calendars that came from YAML and are in no file any more',
      )
      .option('--json', 'print the plan as JSON')
      .option('-v, --verbose', 'list unchanged definitions too'),
  ).action(async function (this: Command, files: string[], flags: ApplyFlags) {
    const loaded = await loadDefinitions(files);
    if (!loaded.ok) {
      const count = loaded.errors.length;
      this.error(
        `${loaded.errors.map(formatDefinitionError).join('\n')}\n${count} error${count === 1 ? '' : 's'}; nothing was applied`,
        {
          exitCode: 1,
          code: 'belfry.invalid',
        },
      );
      return;
    }
    let plan: ApplyPlan;
    try {
      plan = await withDatabase(flags, async (executor, database) => {
        await migrate(database.pool, database.schema);
        return flags.dryRun
          ? planApply(executor, loaded.definitions, { prune: flags.prune })
          : applyDefinitions(executor, loaded.definitions, { prune: flags.prune });
      });
    } catch (error) {
      this.error(`apply failed, nothing was changed: ${(error as Error).message}`, {
        exitCode: 1,
        code: 'belfry.apply',
      });
      return;
    }
    if (flags.json) {
      write(
        `${JSON.stringify(planToJson(plan, { dryRun: flags.dryRun === true, applied: flags.dryRun !== true }), null, 2)}\n`,
      );
      return;
    }
    write(`${formatPlan(plan, { verbose: flags.verbose })}\n`);
    write(`${flags.dryRun ? 'Dry run, nothing changed' : 'Applied'}: ${formatPlanSummary(plan)}\n`);
  });
}
