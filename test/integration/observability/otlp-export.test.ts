/**
 * The SDK exactly as `belfry start` sets it up (startTelemetry, from OTEL_* variables: OTLP over HTTP,
 * protobuf by default) sends the spans of real fires to a real OTLP/HTTP receiver; and the process
 * logger stamps the execution log lines with the trace id that job_history records.
 */
import { createServer, type Server } from 'node:http';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { sql } from 'kysely';
import { useTestSchema } from '../../support/schema.js';
import { testScheduler, waitForEvents } from '../../support/scheduler.js';
import { defineJob } from '../../support/fixtures.js';
import { BELFRY_VERSION } from '../../../src/scheduler.js';
import {
  startTelemetry,
  tracingConfigured,
  type Telemetry,
} from '../../../src/observability/telemetry-sdk.js';
import { createLogger } from '../../../src/cli/logger.js';
import { attachExecutionLog } from '../../../src/cli/execution-log.js';

interface Received {
  contentType: string;
  body: Buffer;
}

const database = useTestSchema();
let receiver: Server;
const received: Received[] = [];
let telemetry: Telemetry | undefined;

beforeAll(async () => {
  receiver = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      if (request.method === 'POST' && request.url === '/v1/traces') {
        received.push({ contentType: String(request.headers['content-type']), body: Buffer.concat(chunks) });
        response.writeHead(200, { 'content-type': String(request.headers['content-type']) }).end();
      } else {
        response.writeHead(404).end();
      }
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
});
afterAll(async () => {
  await telemetry?.shutdown();
  await new Promise((resolve) => receiver.close(resolve));
});

/** Spans named `name` in an OTLP protobuf body: Span.name is field 5 (tag 0x2a), length-delimited. */
function countSpansNamed(body: Buffer, name: string): number {
  const needle = Buffer.concat([Buffer.from([0x2a, Buffer.byteLength(name)]), Buffer.from(name)]);
  let count = 0;
  for (let at = body.indexOf(needle); at >= 0; at = body.indexOf(needle, at + 1)) count += 1;
  return count;
}

it('decides from the standard variables whether to trace', () => {
  expect(tracingConfigured({})).toBe(false);
  expect(tracingConfigured({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' })).toBe(true);
  expect(
    tracingConfigured({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_SDK_DISABLED: 'true' }),
  ).toBe(false);
  expect(tracingConfigured({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://c:4318/v1/traces' })).toBe(true);
  expect(
    tracingConfigured({ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' }),
  ).toBe(false);
});

it('exports belfry.fire and belfry.execute spans over OTLP/HTTP, and logs carry the trace id', async () => {
  const address = receiver.address() as { port: number };
  // What an operator sets: the SDK reads process.env itself (this file runs in its own worker).
  process.env.OTEL_EXPORTER_OTLP_ENDPOINT = `http://127.0.0.1:${address.port}`;
  process.env.OTEL_BSP_SCHEDULE_DELAY = '100';
  process.env.OTEL_SERVICE_NAME = 'belfry-otlp-test';
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean))
        lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const logger = createLogger({ level: 'info', base: { instance: 'otlp' }, destination: sink });
  telemetry = await startTelemetry({
    instanceName: 'otlp',
    version: BELFRY_VERSION,
    prometheus: false,
    env: process.env,
    logger,
  });
  expect(telemetry.tracing).toBe(true);

  await defineJob({ db: database.db, schema: database.schema }, 'exported');
  const scheduler = testScheduler(database, { logger }).registerJob(
    'exported',
    class {
      execute() {}
    },
  );
  attachExecutionLog(scheduler, logger);
  await scheduler.start();
  const finished = waitForEvents(scheduler, 'execution:finished', 3);
  for (let i = 0; i < 3; i += 1) await scheduler.fireNow('exported');
  await finished;
  await scheduler.stop();
  await telemetry.shutdown(); // flushes the batch processor
  telemetry = undefined;

  expect(received.length).toBeGreaterThan(0);
  expect(received.every((r) => r.contentType === 'application/x-protobuf')).toBe(true);
  const bodies = Buffer.concat(received.map((r) => r.body));
  expect(countSpansNamed(bodies, 'belfry.fire')).toBeGreaterThanOrEqual(3);
  expect(countSpansNamed(bodies, 'belfry.execute')).toBeGreaterThanOrEqual(3);
  expect(bodies.includes(Buffer.from('belfry-otlp-test'))).toBe(true); // OTEL_SERVICE_NAME reached the resource

  const { rows } = await sql<{ trace_id: string | null }>`
    SELECT trace_id FROM ${sql.table(`${database.schema}.job_history`)} WHERE job = 'exported'`.execute(
    database.db,
  );
  expect(rows).toHaveLength(3);
  const finishedLines = lines.filter((l) => l.msg === 'execution finished');
  expect(finishedLines).toHaveLength(3);
  for (const line of finishedLines) {
    expect(line).toMatchObject({ job: 'exported', status: 'succeeded', instance: 'otlp' });
    expect(line.trace_id).toMatch(/^[0-9a-f]{32}$/);
    expect(line.span_id).toMatch(/^[0-9a-f]{16}$/);
  }
  expect(finishedLines.map((l) => l.trace_id).sort()).toEqual(rows.map((r) => r.trace_id).sort());
});
