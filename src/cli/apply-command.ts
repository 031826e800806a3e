/**
 * `belfry apply FILE… [--dry-run] [--prune [--force]] [--json]`: validates the files, migrates the
 * database, shows the difference and applies it in one transaction (all or nothing).
 *
 * `--dry-run` reads only: it does not migrate, create the schema or take a lock, and it plans inside a
 * READ ONLY transaction. When the schema is behind this code it says so in one line and still plans
 * against the tables that exist; when there is no schema at all, everything would be added.
 *
 * A prune that would delete what something outside the files still needs is refused before anything is
 * written (see config/prune-impact.ts); the plan is still printed so the reason can be seen in full.
 */
import type { Command } from 'commander';
import {
  applyDefinitions,
  EMPTY_STORED,
  planAgainst,
  planApply,
  type ApplyOptions,
  type ApplyPlan,
} from '../config/definition-reconciler.js';
import { formatDefinitionError } from '../config/definition-error.js';
import { loadDefinitions } from '../config/definition-loader.js';
import type { Definitions } from '../config/definitions.js';
import { formatPlan, formatPlanSummary, planToJson } from '../config/plan-format.js';
import { PruneRefusedError } from '../config/prune-impact.js';
import type { ErrorCode } from '../errors/error-codes.js';
import type { BelfryDatabase } from '../store/database.js';
import type { Executor } from '../store/executor.js';
import { migrate, migrationStatus } from '../store/migrator.js';
import { inReadOnlyTransaction } from '../store/reconcile-store.js';
import { withDatabase, withDatabaseFlags, type DatabaseFlags } from './database-command.js';

export interface ApplyCommandDeps {
  write?: (text: string) => void;
}

interface ApplyFlags extends DatabaseFlags {
  dryRun?: boolean;
  prune?: boolean;
  force?: boolean;
  json?: boolean;
  verbose?: boolean;
}

interface ApplyOutcome {
  plan: ApplyPlan;
  /** One line each: the state of the schema, for a dry run. */
  notes: string[];
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
      .option('--dry-run', 'show the plan and change nothing (reads only: does not even migrate)')
      .option(
        '--prune',
        'delete jobs, triggers and calendars that came from YAML and are in no file any more; refused when API or code triggers still use a pruned job, or anything still uses a pruned calendar',
      )
      .option(
        '--force',
        'with --prune: also delete the API and code triggers of a pruned job (listed in the plan); a calendar in use is never deleted',
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
          code: 'BELFRY_ERR_INVALID_DEFINITIONS' satisfies ErrorCode,
        },
      );
      return;
    }
    if (flags.force && !flags.prune) {
      this.error('--force only changes what --prune may delete; add --prune', {
        exitCode: 1,
        code: 'BELFRY_ERR_USAGE' satisfies ErrorCode,
      });
      return;
    }
    const options: ApplyOptions = { prune: flags.prune, force: flags.force };
    const dryRun = flags.dryRun === true;
    let outcome: ApplyOutcome;
    // Migrations commit on their own, before the apply's transaction: say so if the apply then fails.
    let migrated: string[] = [];
    const unchanged = () =>
      migrated.length === 0
        ? 'nothing was changed'
        : `the schema was migrated (${migrated.join(', ')}) but no definition was changed`;
    try {
      outcome = await withDatabase(flags, async (executor, database) => {
        if (dryRun) return planDryRun(executor, database, loaded.definitions, options);
        const { applied } = await migrate(database.pool, database.schema);
        migrated = applied.map((migration) => migration.name);
        return { plan: await applyDefinitions(executor, loaded.definitions, options), notes: [] };
      });
    } catch (error) {
      if (!(error instanceof PruneRefusedError)) {
        this.error(`apply failed, ${unchanged()}: ${(error as Error).message}`, {
          exitCode: 1,
          code: 'BELFRY_ERR_APPLY_FAILED' satisfies ErrorCode,
        });
        return;
      }
      // Refused inside the apply's transaction: show what it would have deleted, then why not.
      outcome = { plan: { ...error.plan, definitions: loaded.definitions }, notes: [] };
    }
    const { plan, notes } = outcome;
    const refused = plan.refusals.length > 0;
    if (flags.json) {
      write(
        `${JSON.stringify(planToJson(plan, { dryRun, applied: !dryRun && !refused, notes }), null, 2)}\n`,
      );
    } else {
      for (const note of notes) write(`${note}\n`);
      write(`${formatPlan(plan, { verbose: flags.verbose })}\n`);
      if (!refused) write(`${dryRun ? 'Dry run, nothing changed' : 'Applied'}: ${formatPlanSummary(plan)}\n`);
    }
    if (refused) {
      const verdict = dryRun ? 'apply would be refused' : `apply refused, ${unchanged()}`;
      this.error(plan.refusals.map((refusal) => `${verdict}: ${refusal.message}`).join('\n'), {
        exitCode: 1,
        code: 'BELFRY_ERR_PRUNE_REFUSED' satisfies ErrorCode,
      });
    }
  });
}

/** Reads only: the schema's state first, then the plan in a READ ONLY transaction (when tables exist). */
async function planDryRun(
  executor: Executor,
  database: BelfryDatabase,
  definitions: Definitions,
  options: ApplyOptions,
): Promise<ApplyOutcome> {
  const status = await migrationStatus(database.pool, database.schema);
  const notes: string[] = [];
  const pending = status.pending.map((migration) => migration.name).join(', ');
  if (!status.schemaExists) {
    notes.push(
      `Schema "${database.schema}" does not exist yet: apply would create it and add everything below`,
    );
  } else if (!status.tablesExist) {
    notes.push(
      `Schema "${database.schema}" has no Belfry tables yet: apply would migrate (${pending}) and add everything below`,
    );
  } else if (status.pending.length > 0) {
    notes.push(
      `Schema "${database.schema}" is behind this version of Belfry: apply (or belfry migrate) would first run ${status.pending.length} migration${status.pending.length === 1 ? '' : 's'} (${pending})`,
    );
  }
  const plan = status.tablesExist
    ? await inReadOnlyTransaction(executor, (tx) => planApply(tx, definitions, options))
    : planAgainst(EMPTY_STORED, definitions, options);
  return { plan, notes };
}
