/**
 * The trace of one fire across replicas: replica A records the fire and starts attempt 1 of a
 * `recover: true` job, then A's network dies (its connections go through a proxy we cut); the leader B
 * declares A dead, re-dispatches, and runs attempt 2. Both `belfry.execute` spans are children of the
 * one `belfry.fire` span (same trace id, read back from `fires.trace_context` on B), the job's own span
 * nests under B's execute span, and job_history carries the trace id for both attempts.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { sql } from 'kysely';
import { trace } from '@opentelemetry/api';
import {
  InMemorySpanExporter,
  NodeTracerProvider,
  SimpleSpanProcessor,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace-node';
import { testDatabaseUrl, useTestSchema } from '../../support/schema.js';
import { testScheduler, waitForEvents } from '../../support/scheduler.js';
import { defineJob } from '../../support/fixtures.js';
import { createScheduler, type Scheduler } from '../../../src/scheduler.js';
import type { JobContext } from '../../../src/jobs/job.js';
import { startTcpProxy, throughProxy, type TcpProxy } from './support.js';

const exporter = new InMemorySpanExporter();
const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const database = useTestSchema();
let proxy: TcpProxy;
const schedulers: Scheduler[] = [];

beforeAll(async () => {
  provider.register();
  const url = new URL(testDatabaseUrl());
  proxy = await startTcpProxy({ host: url.hostname, port: Number(url.port || 5432) });
});
afterAll(async () => {
  await Promise.all(schedulers.map((s) => s.stop({ timeoutMs: 200 }).catch(() => {})));
  await provider.shutdown();
  trace.disable();
});

/** Attempt 1 (on A) blocks until its signal aborts; attempt 2 (on B) does traced work and succeeds. */
class Blocks {
  async execute(ctx: JobContext) {
    await new Promise<void>((resolve) =>
      ctx.signal.addEventListener('abort', () => resolve(), { once: true }),
    );
  }
}
class Works {
  async execute() {
    await trace.getTracer('test-job').startActiveSpan('job.work', async (span) => {
      span.end();
    });
  }
}

const TIMINGS = {
  heartbeatIntervalMs: 300,
  leaseTtlMs: 2_000,
  sessionGraceMs: 300,
  deadAfterMs: 3_000,
  recoveryIntervalMs: 200,
};

it('continues one trace from the fire on replica A to its recovery on replica B', async () => {
  await defineJob({ db: database.db, schema: database.schema }, 'ledger', { recover: true });
  // B starts first (it leads) and cannot run the job yet, so A takes the fire.
  const b = testScheduler(database, { instanceName: 'b', timings: TIMINGS });
  schedulers.push(b);
  const elected = waitForEvents(b, 'leader:elected', 1);
  await b.start();
  await elected;
  const a = createScheduler({
    connectionString: throughProxy(testDatabaseUrl(), proxy),
    schema: database.schema,
    instanceName: 'a',
    migrate: false,
    maxIdleMs: 2_000,
    shutdownTimeoutMs: 200,
    timings: TIMINGS,
  }).registerJob('ledger', Blocks, { recover: true });
  schedulers.push(a);
  await a.start();

  const startedOnA = waitForEvents(a, 'execution:started', 1);
  await a.fireNow('ledger');
  const [first] = await startedOnA;
  b.registerJob('ledger', Works, { recover: true });

  const dead = waitForEvents(b, 'instance:dead', 1, (e) => e.instanceId === a.instanceId);
  const recovered = waitForEvents(b, 'execution:finished', 1, (e) => e.fireId === first!.fireId);
  await proxy.cut();
  await dead;
  const [second] = await recovered;
  expect(second).toMatchObject({ attempt: 2, status: 'succeeded', instanceId: b.instanceId });
  await a.stop({ timeoutMs: 100 }); // cuts attempt 1 off, which ends its span
  await b.stop();

  const spans = exporter.getFinishedSpans();
  const fires = spans.filter((s) => s.name === 'belfry.fire' && s.attributes['belfry.job'] === 'ledger');
  expect(fires).toHaveLength(1);
  const fire = fires[0]!;
  expect(fire.attributes).toMatchObject({
    'belfry.trigger.group': 'one-off',
    'belfry.fire.outcome': 'fired',
  });
  expect(typeof fire.attributes['belfry.fire.lag_ms']).toBe('number');
  const executes = spans
    .filter((s) => s.name === 'belfry.execute' && s.attributes['belfry.job'] === 'ledger')
    .sort(
      (x, y) =>
        Number(x.attributes['belfry.execution.attempt']) - Number(y.attributes['belfry.execution.attempt']),
    );
  expect(
    executes.map((s) => [
      s.attributes['belfry.execution.attempt'],
      s.attributes['belfry.instance.id'],
      s.attributes['belfry.execution.outcome'],
    ]),
  ).toEqual([
    [1, a.instanceId, 'cut_off'],
    [2, b.instanceId, 'succeeded'],
  ]);
  for (const execute of executes) {
    expect(execute.spanContext().traceId).toBe(fire.spanContext().traceId);
    expect(parentOf(execute)).toBe(fire.spanContext().spanId);
  }
  const work = spans.find((s) => s.name === 'job.work');
  expect(work?.spanContext().traceId).toBe(fire.spanContext().traceId);
  expect(parentOf(work!)).toBe(executes[1]!.spanContext().spanId);

  const { rows } = await sql<{ attempt: number; status: string; trace_id: string | null }>`
    SELECT attempt, status, trace_id FROM ${sql.table(`${database.schema}.job_history`)} WHERE fire_id = ${first!.fireId} ORDER BY attempt`.execute(
    database.db,
  );
  expect(rows).toEqual([
    { attempt: 1, status: 'recovered', trace_id: fire.spanContext().traceId },
    { attempt: 2, status: 'succeeded', trace_id: fire.spanContext().traceId },
  ]);
});

function parentOf(span: ReadableSpan): string | undefined {
  return span.parentSpanContext?.spanId;
}
