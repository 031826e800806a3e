/** Admin commands: the cluster's state, the triggers, pause/resume, fire now. */
import type { Command } from 'commander';
import { FireRequestError, fireJob, parseFireAt, parseFireData } from '../operations/fire-operations.js';
import { setPaused } from '../operations/pause-operations.js';
import { listTriggers, TRIGGER_PAGE, type PauseTarget } from '../store/definition-store.js';
import { listInstances } from '../store/instance-store.js';
import { currentLeader } from '../store/leader-store.js';
import { readReplicationState } from '../store/replication-store.js';
import { replicationGuarantee } from '../store/replication-guarantee.js';
import { withDatabase, withDatabaseFlags, type DatabaseFlags } from './database-command.js';
import { UsageError } from './history-command.js';
import { formatTable, printJson } from './output.js';

interface TargetFlags extends DatabaseFlags {
  trigger?: string;
  job?: string;
  group?: string;
  all?: boolean;
  json?: boolean;
}

export function pauseTargetFromFlags(flags: TargetFlags): PauseTarget {
  const given = [
    flags.trigger && { trigger: flags.trigger },
    flags.job && { job: flags.job },
    flags.group && { group: flags.group },
    flags.all && { all: true as const },
  ].filter(Boolean);
  if (given.length !== 1) throw new UsageError('name exactly one of --trigger, --job, --group or --all');
  return given[0] as PauseTarget;
}

/** `--limit` of `belfry triggers`: a positive integer up to TRIGGER_PAGE.max. */
function pageLimit(value: string | undefined): number {
  if (value === undefined) return TRIGGER_PAGE.default;
  const limit = Number(value);
  if (!/^\d+$/.test(value) || limit < 1 || limit > TRIGGER_PAGE.max)
    throw new UsageError(`--limit must be an integer from 1 to ${TRIGGER_PAGE.max}`);
  return limit;
}

export function registerClusterCommands(program: Command): void {
  withDatabaseFlags(
    program.command('cluster').description('the replicas, the leader and its epoch, check-in ages'),
  )
    .option('--json', 'JSON output')
    .option('--all', 'include stopped and dead instances')
    .action(async (flags: DatabaseFlags & { json?: boolean; all?: boolean }) => {
      const { instances, leader, replication } = await withDatabase(flags, async (ex) => ({
        instances: await listInstances(ex, { includeGone: flags.all }),
        leader: await currentLeader(ex),
        replication: replicationGuarantee(await readReplicationState(ex)),
      }));
      if (flags.json) return printJson({ leader, replication, instances });
      process.stdout.write(
        `leader: ${leader.valid ? `${leader.holderName ?? leader.holder} (epoch ${leader.epoch})` : `none (last epoch ${leader.epoch})`}\n`,
      );
      process.stdout.write(`database: ${replication.mode}: ${replication.summary}\n\n`);
      const rows = instances.map((i) => ({
        ...i,
        leader: i.isLeader ? '*' : '',
        checkinAge: `${(i.checkinAgeMs / 1000).toFixed(1)} s`,
      }));
      process.stdout.write(
        `${formatTable(rows, ['name', 'leader', 'state', 'checkinAge', 'host', 'pid', 'version', 'startedAt', 'id'])}\n`,
      );
    });

  withDatabaseFlags(program.command('triggers').description('list triggers with their next fire times'))
    .option('--group <name>')
    .option('--job <name>')
    .option('--limit <n>', `triggers per page (default ${TRIGGER_PAGE.default}, at most ${TRIGGER_PAGE.max})`)
    .option('--after <name>', 'the page after this trigger name (the last one of the previous page)')
    .option('--json', 'JSON output')
    .action(async (flags: TargetFlags & { limit?: string; after?: string }) => {
      const limit = pageLimit(flags.limit);
      const triggers = await withDatabase(flags, (ex) =>
        listTriggers(ex, { group: flags.group, job: flags.job, after: flags.after, limit }),
      );
      // A full page: say how to get the next one (on stderr, so --json output stays one array).
      if (triggers.length === limit)
        process.stderr.write(
          `${limit} triggers shown; the next page: belfry triggers --after ${JSON.stringify(triggers.at(-1)!.name)}\n`,
        );
      const rows = triggers.map((t) => ({
        name: t.name,
        job: t.job,
        group: t.group,
        kind: t.kind,
        nextFireAt: t.nextFireAt,
        previousFireAt: t.previousFireAt,
        paused: t.state === 'paused',
        state: t.state,
        priority: t.priority,
        timesFired: t.timesFired,
        // Why the engine paused it (its schedule failed); null for an operator's pause.
        pausedReason: t.pausedReason,
      }));
      if (flags.json) return printJson(rows);
      const columns = ['name', 'job', 'group', 'kind', 'nextFireAt', 'paused', 'timesFired'];
      if (rows.some((row) => row.pausedReason)) columns.push('pausedReason');
      process.stdout.write(`${formatTable(rows, columns)}\n`);
    });

  for (const paused of [true, false]) {
    withDatabaseFlags(
      program
        .command(paused ? 'pause' : 'resume')
        .description(`${paused ? 'pause' : 'resume'} a trigger, a job, a group or the whole cluster`),
    )
      .option('--trigger <name>')
      .option('--job <name>')
      .option('--group <name>')
      .option('--all', 'every trigger (standby)')
      .option('--json', 'JSON output')
      .action(async (flags: TargetFlags) => {
        const target = pauseTargetFromFlags(flags);
        // An unknown name is an UnknownNameError, described by failure-message.ts as for every command.
        const changed = await withDatabase(flags, (ex) => setPaused(ex, { target, paused }));
        if (flags.json) return printJson({ target, changed });
        process.stdout.write(`${paused ? 'paused' : 'resumed'} ${changed} trigger(s)\n`);
      });
  }

  withDatabaseFlags(program.command('fire <job>').description('fire a job once, now or at an instant'))
    .option('--data <json>', 'data for the job, as JSON')
    .option('--at <instant>', 'ISO 8601 instant with offset (default: now)')
    .option('--json', 'JSON output')
    .action(async (job: string, flags: DatabaseFlags & { data?: string; at?: string; json?: boolean }) => {
      // The same checks as POST /api/v1/jobs/:name/fire; a bad request changes nothing.
      let data: Record<string, unknown> | null;
      let at: Date | null;
      try {
        data = flags.data === undefined ? null : parseFireData(flags.data);
        at = parseFireAt(flags.at);
      } catch (error) {
        if (error instanceof FireRequestError) throw new UsageError(`--${error.field}: ${error.message}`);
        throw error;
      }
      const fired = await withDatabase(flags, (ex) => fireJob(ex, { job, at, data }));
      const name = fired.trigger.name;
      if (flags.json) return printJson({ trigger: name, job, at: fired.at.toISOString() });
      process.stdout.write(`scheduled ${job} ${at ? `at ${at.toISOString()}` : 'now'} (trigger ${name})\n`);
    });
}
