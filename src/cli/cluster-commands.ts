/** Admin commands: the cluster's state, the triggers, pause/resume, fire now. */
import type { Command } from 'commander';
import { randomUUID } from 'node:crypto';
import { inTransaction } from '../store/executor.js';
import { insertOneOffTrigger, listJobs, listTriggers, setTriggersPaused, type PauseTarget } from '../store/definition-store.js';
import { listInstances } from '../store/instance-store.js';
import { currentLeader } from '../store/leader-store.js';
import { parseInstant } from '../time/schedule.js';
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
  const given = [flags.trigger && { trigger: flags.trigger }, flags.job && { job: flags.job }, flags.group && { group: flags.group }, flags.all && { all: true as const }].filter(Boolean);
  if (given.length !== 1) throw new UsageError('name exactly one of --trigger, --job, --group or --all');
  return given[0] as PauseTarget;
}

export function registerClusterCommands(program: Command): void {
  withDatabaseFlags(program.command('cluster').description('the replicas, the leader and its epoch, check-in ages'))
    .option('--json', 'JSON output')
    .option('--all', 'include stopped and dead instances')
    .action(async (flags: DatabaseFlags & { json?: boolean; all?: boolean }) => {
      const { instances, leader } = await withDatabase(flags, async (ex) => ({
        instances: await listInstances(ex, { includeGone: flags.all }),
        leader: await currentLeader(ex),
      }));
      if (flags.json) return printJson({ leader, instances });
      process.stdout.write(
        `leader: ${leader.valid ? `${leader.holderName ?? leader.holder} (epoch ${leader.epoch})` : `none (last epoch ${leader.epoch})`}\n\n`,
      );
      const rows = instances.map((i) => ({ ...i, leader: i.isLeader ? '*' : '', checkinAge: `${(i.checkinAgeMs / 1000).toFixed(1)} s` }));
      process.stdout.write(`${formatTable(rows, ['name', 'leader', 'state', 'checkinAge', 'host', 'pid', 'version', 'startedAt', 'id'])}\n`);
    });

  withDatabaseFlags(program.command('triggers').description('list triggers with their next fire times'))
    .option('--group <name>')
    .option('--job <name>')
    .option('--json', 'JSON output')
    .action(async (flags: TargetFlags) => {
      const triggers = await withDatabase(flags, (ex) => listTriggers(ex, { group: flags.group, job: flags.job }));
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
      }));
      if (flags.json) return printJson(rows);
      process.stdout.write(`${formatTable(rows, ['name', 'job', 'group', 'kind', 'nextFireAt', 'paused', 'timesFired'])}\n`);
    });

  for (const paused of [true, false]) {
    withDatabaseFlags(program.command(paused ? 'pause' : 'resume').description(`${paused ? 'pause' : 'resume'} a trigger, a job, a group or the whole cluster`))
      .option('--trigger <name>')
      .option('--job <name>')
      .option('--group <name>')
      .option('--all', 'every trigger (standby)')
      .option('--json', 'JSON output')
      .action(async (flags: TargetFlags) => {
        const target = pauseTargetFromFlags(flags);
        const changed = await withDatabase(flags, (ex) => inTransaction(ex, (tx) => setTriggersPaused(tx, { target, paused })));
        if (flags.json) return printJson({ target, changed });
        process.stdout.write(`${paused ? 'paused' : 'resumed'} ${changed} trigger(s)\n`);
      });
  }

  withDatabaseFlags(program.command('fire <job>').description('fire a job once, now or at an instant'))
    .option('--data <json>', 'data for the job, as JSON')
    .option('--at <instant>', 'ISO 8601 instant with offset (default: now)')
    .option('--json', 'JSON output')
    .action(async (job: string, flags: DatabaseFlags & { data?: string; at?: string; json?: boolean }) => {
      let data: Record<string, unknown> | null = null;
      if (flags.data) {
        try {
          data = JSON.parse(flags.data) as Record<string, unknown>;
        } catch (error) {
          throw new UsageError(`--data is not valid JSON: ${(error as Error).message}`);
        }
        if (typeof data !== 'object' || data === null || Array.isArray(data)) throw new UsageError('--data must be a JSON object');
      }
      const at = flags.at ? parseInstant(flags.at, '--at') : null;
      const name = `${job}.once.${randomUUID()}`;
      await withDatabase(flags, async (ex) => {
        const jobs = await listJobs(ex);
        if (!jobs.some((j) => j.name === job)) throw new UsageError(`unknown job "${job}" (known: ${jobs.map((j) => j.name).join(', ') || 'none'})`);
        await insertOneOffTrigger(ex, { name, job, group: 'one-off', at, data });
      });
      if (flags.json) return printJson({ trigger: name, job, at: at?.toISOString() ?? 'now' });
      process.stdout.write(`scheduled ${job} ${at ? `at ${at.toISOString()}` : 'now'} (trigger ${name})\n`);
    });
}
