/**
 * With no OpenTelemetry SDK registered, tracing must cost nothing: the tracer is a no-op, Belfry stores
 * no trace context, and the history has no trace id. (This file registers nothing globally.)
 */
import { expect, it } from 'vitest';
import { sql } from 'kysely';
import { trace } from '@opentelemetry/api';
import { useTestSchema } from '../../support/schema.js';
import { testScheduler, waitForEvents } from '../../support/scheduler.js';
import { defineJob } from '../../support/fixtures.js';
import { ExecutionTracing, TRACER_NAME } from '../../../src/observability/execution-tracing.js';

const database = useTestSchema();

it('gets a non-recording tracer and does no tracing work', () => {
  const span = trace.getTracer(TRACER_NAME).startSpan('probe');
  expect(span.isRecording()).toBe(false);
  const tracing = new ExecutionTracing();
  const now = new Date(0);
  expect(tracing.startFire({ trigger: 't', group: 'g', job: 'j', scheduledAt: now, dbNow: now })).toBeNull();
  expect(
    tracing.startExecute({
      traceContext: null,
      job: 'j',
      trigger: 't',
      group: 'g',
      attempt: 1,
      executionId: '1',
      fireId: '1',
      instanceId: 'i',
      scheduledAt: now,
    }),
  ).toBeNull();
});

it('still continues a stored trace context (from a replica that traces) into the history', () => {
  const tracing = new ExecutionTracing();
  const now = new Date(0);
  const active = tracing.startExecute({
    traceContext: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
    job: 'j',
    trigger: 't',
    group: 'g',
    attempt: 2,
    executionId: '2',
    fireId: '1',
    instanceId: 'i',
    scheduledAt: now,
  });
  expect(active?.traceId).toBe('0af7651916cd43dd8448eb211c80319c');
  expect(active?.span.isRecording()).toBe(false);
});

it('records fires and executions without trace context or trace id', async () => {
  await defineJob({ db: database.db, schema: database.schema }, 'plain');
  const scheduler = testScheduler(database).registerJob(
    'plain',
    class {
      execute() {}
    },
  );
  await scheduler.start();
  const finished = waitForEvents(scheduler, 'execution:finished', 1);
  await scheduler.fireNow('plain');
  await finished;
  await scheduler.stop();
  const { rows } = await sql<{ trace_context: unknown; trace_id: string | null }>`
    SELECT f.trace_context, e.trace_id FROM ${sql.table(`${database.schema}.fires`)} f
      JOIN ${sql.table(`${database.schema}.executions`)} e ON e.fire_id = f.id`.execute(database.db);
  expect(rows).toEqual([{ trace_context: null, trace_id: null }]);
});
