/**
 * The OpenTelemetry SDK, for the process entry point only (`belfry start`): library code uses
 * `@opentelemetry/api` alone and never imports this module.
 *
 * Metrics: a MeterProvider with a PrometheusExporter as its reader, registered globally; the exporter's
 * own HTTP server is not started, the admin server renders it at `/metrics` (metricsRoute). A scrape
 * collects in-process values only; it never reaches the database.
 *
 * Tracing: `@opentelemetry/sdk-node`, configured from the standard OTEL_* variables (OTLP over HTTP,
 * protobuf, by default), and only when OTEL_SDK_DISABLED is not true and an exporter is configured
 * (OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, or OTEL_TRACES_EXPORTER other than
 * `none`). With nothing configured the SDK is not even loaded: the global tracer stays a no-op and the
 * engine's spans cost nothing.
 *
 * Resource: service.name `belfry` (unless OTEL_SERVICE_NAME/OTEL_RESOURCE_ATTRIBUTES say otherwise),
 * service.version, service.instance.id = the instance name, host attributes. The process detector is
 * left out on purpose: it would export the command line, which may hold a connection string.
 */
import { metrics, type MeterProvider } from '@opentelemetry/api';
import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import {
  detectResources,
  envDetector,
  hostDetector,
  resourceFromAttributes,
  type Resource,
} from '@opentelemetry/resources';
import { MeterProvider as SdkMeterProvider } from '@opentelemetry/sdk-metrics';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';

export interface TelemetryOptions {
  instanceName: string;
  version: string;
  /** Render metrics for Prometheus (the admin server is on). */
  prometheus: boolean;
  /** The environment to decide from (the SDK itself reads process.env, as the OTel spec says). */
  env: Readonly<Record<string, string | undefined>>;
  logger: Logger;
}

export interface Telemetry {
  /** True when the tracing SDK was started. */
  readonly tracing: boolean;
  /** Pass to createScheduler (also registered globally, for the jobs' own metrics). */
  readonly meterProvider: MeterProvider | undefined;
  /** The admin server plugin serving `GET /metrics`; undefined without Prometheus. */
  readonly metricsRoute: ((app: FastifyInstance) => void) | undefined;
  /** Flushes pending spans and stops the providers; call after the scheduler stopped. */
  shutdown(): Promise<void>;
}

const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** Whether the standard variables ask for traces to be exported. */
export function tracingConfigured(env: Readonly<Record<string, string | undefined>>): boolean {
  if ((env.OTEL_SDK_DISABLED ?? '').trim().toLowerCase() === 'true') return false;
  const exporters = (env.OTEL_TRACES_EXPORTER ?? '')
    .split(',')
    .map((e) => e.trim().toLowerCase())
    .filter(Boolean);
  if (exporters.includes('none')) return false;
  return (
    exporters.length > 0 || Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT)
  );
}

export async function startTelemetry(options: TelemetryOptions): Promise<Telemetry> {
  const resource = belfryResource(options);
  const exporter = options.prometheus ? new PrometheusExporter({ preventServerStart: true }) : undefined;
  const shutdowns: (() => Promise<void>)[] = [];
  let meterProvider: MeterProvider | undefined;
  let tracing = false;

  if (tracingConfigured(options.env)) {
    // Loaded only when wanted: the SDK and its exporters are a lot of code to load for nothing.
    const { NodeSDK } = await import('@opentelemetry/sdk-node');
    const sdk = new NodeSDK({
      resource,
      autoDetectResources: false,
      metricReaders: exporter ? [exporter] : [],
      logRecordProcessors: [],
      instrumentations: [],
    });
    sdk.start();
    shutdowns.push(() => sdk.shutdown());
    meterProvider = exporter ? metrics.getMeterProvider() : undefined;
    tracing = true;
  } else if (exporter) {
    const provider = new SdkMeterProvider({ resource, readers: [exporter] });
    metrics.setGlobalMeterProvider(provider);
    shutdowns.push(() => provider.shutdown());
    meterProvider = provider;
  }
  options.logger.info({ tracing, prometheus: Boolean(exporter) }, 'telemetry configured');

  return {
    tracing,
    meterProvider,
    metricsRoute: exporter ? metricsRoute(exporter, options.logger) : undefined,
    async shutdown() {
      await Promise.all(
        shutdowns.map((stop) =>
          stop().catch((error) => options.logger.warn({ err: error }, 'telemetry shutdown failed')),
        ),
      );
    },
  };
}

/** `GET /metrics` for the admin server: collect from the reader, render the Prometheus text format. */
export function metricsRoute(exporter: PrometheusExporter, logger: Logger): (app: FastifyInstance) => void {
  const serializer = new PrometheusSerializer();
  return (app) => {
    app.get('/metrics', async (_request, reply) => {
      const { resourceMetrics, errors } = await exporter.collect();
      if (errors.length > 0) logger.warn({ errors: errors.map(String) }, 'metrics collection errors');
      return reply.type(PROMETHEUS_CONTENT_TYPE).send(serializer.serialize(resourceMetrics));
    });
  };
}

function belfryResource(options: TelemetryOptions): Resource {
  const defaults = resourceFromAttributes({
    'service.name': 'belfry',
    'service.version': options.version,
    'service.instance.id': options.instanceName,
  });
  // Later wins: OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES override the defaults.
  return defaults.merge(detectResources({ detectors: [hostDetector, envDetector] }));
}
