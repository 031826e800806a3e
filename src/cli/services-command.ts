/**
 * `belfry services`: every shard of every long-running service with its holder, epoch, uptime, last
 * checkpoint and restarts (docs/services.md); `services history` reads the service_history view;
 * `services pause|resume NAME` stops a service everywhere (its holders release) or lets it run again.
 */
import type { Command } from 'commander';
import { BelfryError } from '../errors/belfry-error.js';
import {
  listServiceHistory,
  listServiceShards,
  setServicePaused,
  type ServiceShardRow,
} from '../store/service-store.js';
import { withDatabase, withDatabaseFlags, type DatabaseFlags } from './database-command.js';
import { UsageError } from './history-command.js';
import { formatTable, printJson } from './output.js';

/** A short, one-line rendering of a checkpoint for the table (the JSON output carries it whole). */
export function checkpointCell(value: unknown, max = 40): string {
  if (value === null || value === undefined) return '';
  const text = JSON.stringify(value);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

export function formatUptime(ms: number | null): string {
  if (ms === null) return '';
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

export function servicesTable(rows: ServiceShardRow[]): string {
  return formatTable(
    rows.map((r) => ({
      service: r.paused ? `${r.service} (paused)` : r.service,
      shard: `${r.shard}/${r.shards}`,
      holder: r.held ? (r.holderName ?? r.holder) : '-',
      epoch: r.epoch,
      uptime: formatUptime(r.uptimeMs),
      restarts: r.restarts,
      checkpoint: checkpointCell(r.checkpoint),
      checkpointAt: r.checkpointAt,
    })),
    ['service', 'shard', 'holder', 'epoch', 'uptime', 'restarts', 'checkpoint', 'checkpointAt'],
  );
}

export function registerServicesCommand(program: Command): void {
  const services = withDatabaseFlags(
    program
      .command('services')
      .description('long-running services: each shard with its holder, epoch, uptime, checkpoint, restarts'),
  )
    .option('--json', 'JSON output')
    .action(async (flags: DatabaseFlags & { json?: boolean }) => {
      const rows = await withDatabase(flags, (ex) => listServiceShards(ex));
      if (flags.json) return printJson(rows);
      if (rows.length === 0) return void process.stdout.write('no services\n');
      process.stdout.write(`${servicesTable(rows)}\n`);
    });

  withDatabaseFlags(
    services
      .command('history')
      .description('starts, stops, crashes, handovers and refused checkpoints (the service_history view)'),
  )
    .option('--service <name>')
    .option('--limit <n>', 'rows, newest first (default 100)')
    .option('--json', 'JSON output')
    .action(async (_flags: unknown, command: Command) => {
      // The parent command has --json and the database flags too: read them wherever they were given.
      const flags = command.optsWithGlobals<
        DatabaseFlags & { service?: string; limit?: string; json?: boolean }
      >();
      const limit = flags.limit === undefined ? 100 : Number(flags.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 10_000)
        throw new UsageError('--limit must be an integer from 1 to 10000');
      const rows = await withDatabase(flags, (ex) =>
        listServiceHistory(ex, { service: flags.service, limit }),
      );
      if (flags.json) return printJson(rows);
      process.stdout.write(
        `${formatTable(
          rows.map((r) => ({ ...r, instance: r.instanceName ?? r.instance })),
          ['service', 'shard', 'epoch', 'instance', 'startedAt', 'endedAt', 'reason', 'error'],
        )}\n`,
      );
    });

  for (const action of ['pause', 'resume'] as const) {
    withDatabaseFlags(
      services
        .command(`${action} <name>`)
        .description(
          action === 'pause'
            ? 'stop a service on every replica (its holders stop their runs and release)'
            : 'let a paused service run again',
        ),
    )
      .option('--json', 'JSON output')
      .action(async (name: string, _flags: unknown, command: Command) => {
        const flags = command.optsWithGlobals<DatabaseFlags & { json?: boolean }>();
        const found = await withDatabase(flags, (ex) =>
          setServicePaused(ex, { name, paused: action === 'pause' }),
        );
        if (!found)
          throw new BelfryError('BELFRY_ERR_UNKNOWN_SERVICE', `no service is named ${JSON.stringify(name)}`);
        if (flags.json) return printJson({ service: name, paused: action === 'pause' });
        process.stdout.write(`${name}: ${action === 'pause' ? 'paused' : 'resumed'}\n`);
      });
  }
}
