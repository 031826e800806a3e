/**
 * `belfry start`: one replica. Loads and validates the YAML first (a bad file exits non-zero and touches
 * nothing), waits for the database, migrates, reconciles the definitions in one transaction, then fires.
 * SIGTERM/SIGINT stop it gracefully within BELFRY_SHUTDOWN_TIMEOUT, even with the database gone; a
 * second, separate signal exits at once.
 *
 * Telemetry is set up here and nowhere else (src/observability/telemetry-sdk.ts): metrics for the admin
 * server's /metrics, and the tracing SDK when the OTEL_* variables configure an exporter. It starts
 * before the scheduler is built (so the scheduler's instruments bind to it) and shuts down last, after
 * the scheduler stopped, so the spans of the last executions are flushed.
 */
import { hostname } from 'node:os';
import type { Command } from 'commander';
import type { Logger } from 'pino';
import { BELFRY_VERSION, createScheduler, type Scheduler } from '../scheduler.js';
import type { Telemetry } from '../observability/telemetry-sdk.js';
import { systemClock } from '../time/clock.js';
import { createLogger } from './logger.js';
import { processEnvironment, readSettings, type Settings } from './settings.js';
import { databaseOf, schemaOf } from './database-command.js';
import { migrateWhenReachable } from './wait-for-database.js';
import { prepareDefinitions } from './definitions.js';
import { attachExecutionLog } from './execution-log.js';
import { registerAdminApi } from '../api/admin-api.js';
import { rateLimitSetting, startAdminServer, type AdminServer } from './admin-server.js';
import { onStopSignals, type StopRequestHandlers } from './shutdown-signals.js';
import { describeFailure } from './failure-message.js';
import { dropOutputWhenReaderGone } from './output.js';

export interface StartOptions {
  config?: string[];
  databaseUrl?: string;
  schema?: string;
  name?: string;
}

export function registerStartCommand(program: Command): void {
  program
    .command('start')
    .description('run a replica: reconcile the YAML definitions, then fire triggers until SIGTERM')
    .option('-c, --config <file...>', 'YAML definitions (default: $BELFRY_CONFIG)')
    .option(
      '--database-url <url>',
      "PostgreSQL URL (default: $DATABASE_URL, else this project's running `belfry dev`)",
    )
    .option('--schema <name>', 'Belfry schema (default: $BELFRY_SCHEMA or belfry)')
    .option('--name <name>', 'instance name (default: $BELFRY_INSTANCE_NAME or host-pid)')
    .action(async (options: StartOptions) => {
      const settings = readSettings();
      const exitCode = await runReplica(options, settings);
      process.exit(exitCode);
    });
}

export async function runReplica(options: StartOptions, settings: Settings): Promise<number> {
  dropOutputWhenReaderGone();
  const instanceName = options.name ?? settings.BELFRY_INSTANCE_NAME ?? `${hostname()}-${process.pid}`;
  const logger = createLogger({ level: settings.BELFRY_LOG_LEVEL, base: { instance: instanceName } });
  // One set of signal handlers for the replica's whole life, installed before anything else: removing
  // a listener and adding another would drop a signal that arrived in between (Node closes the signal
  // handle with its last listener). Until the scheduler exists, a stop request (a Ctrl-C right after
  // `belfry dev` started its replicas) ends the replica at once and cleanly: nothing is registered yet.
  let onStop: StopRequestHandlers = { graceful: () => process.exit(0), urgent: () => process.exit(0) };
  onStopSignals(
    { graceful: (signal) => onStop.graceful(signal), urgent: (signal) => onStop.urgent(signal) },
    { clock: systemClock },
  );
  const files = options.config ?? settings.BELFRY_CONFIG?.split(',').filter(Boolean) ?? [];
  const prepared = await prepareDefinitions(files);
  if (!prepared.ok) {
    for (const line of prepared.errors) process.stderr.write(`${line}\n`);
    process.stderr.write(
      `belfry: ${prepared.errors.length} error(s) in the definitions; nothing was changed\n`,
    );
    return 1;
  }
  const telemetry = await setUpTelemetry(instanceName, settings, logger);
  const database = databaseOf(settings, options.databaseUrl);
  const scheduler = createScheduler({
    connectionString: database.url,
    sessionConnectionString: settings.BELFRY_SESSION_DATABASE_URL,
    schema: schemaOf(settings, options.schema, database),
    instanceName,
    labels: settings.BELFRY_LABELS,
    concurrency: settings.BELFRY_CONCURRENCY,
    batchSize: settings.BELFRY_BATCH_SIZE,
    shutdownTimeoutMs: settings.BELFRY_SHUTDOWN_TIMEOUT,
    historyRetentionMs: settings.BELFRY_HISTORY_RETENTION,
    timings: {
      heartbeatIntervalMs: settings.BELFRY_HEARTBEAT_INTERVAL,
      leaseTtlMs: settings.BELFRY_LEASE_TTL,
      deadAfterMs: settings.BELFRY_DEAD_AFTER,
    },
    migrate: false,
    logger,
    meterProvider: telemetry.meterProvider,
  });
  const stopSignal = new AbortController();
  const stopping = stopHandlers(scheduler, logger, stopSignal, settings.BELFRY_SHUTDOWN_TIMEOUT);
  onStop = stopping.handlers;
  const { stopped } = stopping;
  let admin: AdminServer | undefined;
  const stoppedCleanly = async () => {
    const code = await stopped;
    await admin?.close();
    await telemetry.shutdown();
    return code;
  };
  try {
    await prepared.register(scheduler);
    // The admin server comes up first: /healthz must answer while the database is still unreachable,
    // or an orchestrator's liveness probe would turn a database outage into a restart loop.
    admin = await startAdmin(scheduler, settings, logger, telemetry, files);
    const migrated = await migrateWhenReachable(scheduler.database.pool, scheduler.database.schema, {
      clock: systemClock,
      logger,
      signal: stopSignal.signal,
    });
    if (!migrated) return await stoppedCleanly();
    await prepared.reconcile(scheduler, logger);
    // Asked to stop while reconciling: starting now would register an instance nobody checks out.
    if (stopSignal.signal.aborted) return await stoppedCleanly();
    attachExecutionLog(scheduler, logger);
    await scheduler.start();
    return await stoppedCleanly();
  } catch (error) {
    // A stop request while starting (a Ctrl-C just after `belfry dev` started its replicas) closes the
    // database under the start, which then fails: that is the stop that was asked for, not a failure.
    if (stopSignal.signal.aborted) {
      logger.info({ err: error }, 'stopped while starting');
      return await stoppedCleanly();
    }
    logger.error({ err: error }, 'replica failed to start');
    process.stderr.write(`belfry: ${describeFailure(error)}\n`);
    await scheduler.stop({ timeoutMs: 1_000 }).catch(() => {});
    await admin?.close();
    await telemetry.shutdown();
    return 1;
  }
}

/** Metrics (when the admin server is on) and, when OTEL_* configure an exporter, the tracing SDK. */
async function setUpTelemetry(instanceName: string, settings: Settings, logger: Logger): Promise<Telemetry> {
  try {
    const { startTelemetry } = await import('../observability/telemetry-sdk.js');
    return await startTelemetry({
      instanceName,
      version: BELFRY_VERSION,
      prometheus: settings.BELFRY_HTTP_PORT !== 0,
      env: processEnvironment(),
      logger: logger.child({ component: 'telemetry' }),
    });
  } catch (error) {
    // Telemetry must not keep a replica from firing: run without it, loudly.
    logger.error({ err: error }, 'telemetry setup failed; running without metrics and tracing');
    return { tracing: false, meterProvider: undefined, metricsRoute: undefined, shutdown: async () => {} };
  }
}

async function startAdmin(
  scheduler: Scheduler,
  settings: Settings,
  logger: Logger,
  telemetry: Telemetry,
  definitionFiles: readonly string[],
): Promise<AdminServer | undefined> {
  if (settings.BELFRY_HTTP_PORT === 0) return undefined;
  return startAdminServer({
    scheduler,
    host: settings.BELFRY_HTTP_HOST,
    port: settings.BELFRY_HTTP_PORT,
    token: settings.BELFRY_HTTP_TOKEN,
    readToken: settings.BELFRY_HTTP_READ_TOKEN,
    allowedHosts: settings.BELFRY_HTTP_ALLOWED_HOSTS,
    rateLimit: rateLimitSetting(settings.BELFRY_HTTP_RATE_LIMIT),
    logger,
    plugins: [
      (app) =>
        registerAdminApi(app, {
          scheduler,
          dashboard: {
            traceUrlTemplate: settings.BELFRY_TRACE_URL,
            definitionFiles,
            version: BELFRY_VERSION,
          },
        }),
      ...(telemetry.metricsRoute ? [telemetry.metricsRoute] : []),
    ],
  });
}

/**
 * The first stop request drains and checks out within the shutdown timeout: the scheduler gets most of
 * it to drain, the rest is kept for resigning and checking out. If the database is unreachable those
 * steps cannot finish, so at the deadline the process says what it could not do and exits (peers then
 * detect it as dead and recover its work): it never outlives its timeout. A separate, later signal
 * exits at once.
 */
function stopHandlers(
  scheduler: Scheduler,
  logger: Logger,
  stopSignal: AbortController,
  shutdownTimeoutMs: number,
): { handlers: StopRequestHandlers; stopped: Promise<number> } {
  let resolve: (code: number) => void = () => {};
  const stopped = new Promise<number>((settle) => (resolve = settle));
  const handlers: StopRequestHandlers = {
    graceful(signal) {
      logger.info({ signal }, 'shutting down gracefully');
      stopSignal.abort();
      let checkedOut = false;
      // Not cleared once the scheduler stopped: closing the admin server and flushing telemetry
      // must fit in the same budget.
      const deadline = setTimeout(() => {
        const line = checkedOut
          ? `could not close the admin server and flush telemetry within the shutdown timeout (${shutdownTimeoutMs} ms); exiting`
          : `could not resign and check out within the shutdown timeout (${shutdownTimeoutMs} ms): is the database reachable? Exiting; peers will detect this replica as dead and recover its work`;
        logger.error({ timeoutMs: shutdownTimeoutMs, checkedOut }, 'shutdown deadline passed; exiting');
        process.stderr.write(`belfry: ${line}\n`);
        process.exit(1);
      }, shutdownTimeoutMs);
      deadline.unref();
      scheduler.stop({ timeoutMs: drainBudgetMs(shutdownTimeoutMs) }).then(
        () => {
          checkedOut = true;
          resolve(0);
        },
        (error) => {
          logger.error({ err: error }, 'shutdown failed');
          resolve(1);
        },
      );
    },
    urgent(signal) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(130);
    },
  };
  return { handlers, stopped };
}

/** The part of the shutdown timeout running executions may use; the rest is for check-out. */
export function drainBudgetMs(shutdownTimeoutMs: number): number {
  const reserve = Math.min(5_000, Math.max(1_000, shutdownTimeoutMs / 5));
  return Math.max(0, shutdownTimeoutMs - reserve);
}
