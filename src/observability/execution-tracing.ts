/**
 * The two Belfry spans, on `@opentelemetry/api` only (the SDK, if any, is the process entry point's).
 *
 *   belfry.fire     (PRODUCER) started at acquisition, one per recorded fire, ended when the acquisition
 *                   transaction commits. Its W3C trace context is stored in `fires.trace_context`.
 *   belfry.execute  (CONSUMER) one per execution attempt, a child of the fire's span extracted from
 *                   `fires.trace_context`: so a retry, a catch-up or a recovery on another replica, seconds
 *                   or hours later, continues the same trace. The job runs inside it (`context.with`), so a
 *                   job's own spans (its pg or HTTP calls) nest under it.
 *
 * Cost when tracing is off (no SDK registered): the global tracer is a no-op whose spans are invalid and
 * not recording; every method here checks that first and returns before building attributes, injecting
 * or serializing anything. A stored context from a replica that traces is still continued (the no-op
 * tracer hands back the parent's span context), so the trace id still reaches the history.
 */
import {
  context,
  isSpanContextValid,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  TraceFlags,
  type Attributes,
  type Context,
  type Span,
  type SpanContext,
  type Tracer,
  type TracerProvider,
} from '@opentelemetry/api';

export const TRACER_NAME = 'belfry';

/** W3C trace context as stored in `fires.trace_context`: `{ traceparent, tracestate? }`. */
export type TraceCarrier = Record<string, string>;

export interface FireSpanInput {
  trigger: string;
  group: string;
  job: string;
  scheduledAt: Date;
  /** The database's now() of the acquisition (what lag is measured against). */
  dbNow: Date;
}

export interface ExecuteSpanInput {
  traceContext: TraceCarrier | null;
  job: string;
  trigger: string;
  group: string;
  attempt: number;
  executionId: string;
  fireId: string;
  instanceId: string;
  scheduledAt: Date;
}

export interface ActiveExecution {
  span: Span;
  /** The context to run the job in (the execute span set on the fire's context). */
  context: Context;
  traceId: string;
}

export type ExecuteOutcome = 'succeeded' | 'failed' | 'timed_out' | 'vetoed' | 'cut_off';

export class ExecutionTracing {
  readonly #tracer: Tracer;

  constructor(options: { tracerProvider?: TracerProvider; version?: string } = {}) {
    // trace.getTracer returns a proxy: an SDK registered after the scheduler was built is still used.
    this.#tracer = options.tracerProvider
      ? options.tracerProvider.getTracer(TRACER_NAME, options.version)
      : trace.getTracer(TRACER_NAME, options.version);
  }

  /** Starts a fire's span; null when tracing is off (then nothing is stored with the fire). */
  startFire(fire: FireSpanInput): { span: Span; carrier: TraceCarrier } | null {
    const started = this.#startSpan('belfry.fire', SpanKind.PRODUCER, ROOT_CONTEXT, () => ({
      'belfry.trigger': fire.trigger,
      'belfry.trigger.group': fire.group,
      'belfry.job': fire.job,
      'belfry.fire.scheduled_time': fire.scheduledAt.toISOString(),
      'belfry.fire.lag_ms': Math.max(0, fire.dbNow.getTime() - fire.scheduledAt.getTime()),
    }));
    if (!started) return null;
    return { span: started.span, carrier: injectCarrier(started.span, started.spanContext) };
  }

  /** Ends a fire's span once its fate is known: `fired`, `pending`, `skipped` or `misfired`. */
  endFire(span: Span, outcome: string, fireId?: string): void {
    if (span.isRecording()) {
      span.setAttribute('belfry.fire.outcome', outcome);
      if (fireId) span.setAttribute('belfry.fire.id', fireId);
    }
    span.end();
  }

  /** Ends the spans of fires whose acquisition transaction failed (nothing was recorded). */
  failFire(span: Span, error: unknown): void {
    if (span.isRecording()) {
      span.setAttribute('error.type', errorType(error));
      span.setStatus({ code: SpanStatusCode.ERROR, message: 'acquisition transaction failed' });
    }
    span.end();
  }

  /** Starts an attempt's span under the fire's; null when tracing is off and the fire carried no context. */
  startExecute(execution: ExecuteSpanInput): ActiveExecution | null {
    const parent = execution.traceContext ? extractCarrier(execution.traceContext) : ROOT_CONTEXT;
    const started = this.#startSpan('belfry.execute', SpanKind.CONSUMER, parent, () => ({
      'belfry.job': execution.job,
      'belfry.trigger': execution.trigger,
      'belfry.trigger.group': execution.group,
      'belfry.execution.attempt': execution.attempt,
      'belfry.execution.id': execution.executionId,
      'belfry.fire.id': execution.fireId,
      'belfry.fire.scheduled_time': execution.scheduledAt.toISOString(),
      'belfry.instance.id': execution.instanceId,
    }));
    if (!started) return null;
    const { span, spanContext } = started;
    return { span, context: trace.setSpan(parent, span), traceId: spanContext.traceId };
  }

  endExecute(
    active: ActiveExecution,
    outcome: ExecuteOutcome,
    detail: { error?: unknown; vetoedBy?: string } = {},
  ): void {
    const { span } = active;
    if (span.isRecording()) {
      span.setAttribute('belfry.execution.outcome', outcome);
      if (detail.vetoedBy) span.setAttribute('belfry.veto.listener', detail.vetoedBy);
      if (outcome === 'failed' || outcome === 'timed_out') {
        span.setAttribute('error.type', outcome === 'timed_out' ? 'timeout' : errorType(detail.error));
        if (detail.error instanceof Error) span.recordException(detail.error);
        span.setStatus({ code: SpanStatusCode.ERROR, message: describe(detail.error) });
      }
    }
    span.end();
  }

  /**
   * Starts a span, or null when tracing is off (without an SDK the span's context is invalid). The
   * attributes are built only for a recording span, so an unsampled fire formats no strings.
   */
  #startSpan(
    name: string,
    kind: SpanKind,
    parent: Context,
    attributes: () => Attributes,
  ): { span: Span; spanContext: SpanContext } | null {
    const span = this.#tracer.startSpan(name, { kind }, parent);
    const spanContext = span.spanContext();
    if (!isSpanContextValid(spanContext)) return null;
    if (span.isRecording()) span.setAttributes(attributes());
    return { span, spanContext };
  }
}

/** Runs `fn` inside the execution's context (its span active), or plainly when there is none. */
export function runInExecution<T>(active: ActiveExecution | null, fn: () => T): T {
  return active ? context.with(active.context, fn) : fn();
}

function injectCarrier(span: Span, spanContext: SpanContext): TraceCarrier {
  const carrier: TraceCarrier = {};
  propagation.inject(trace.setSpan(ROOT_CONTEXT, span), carrier);
  // No global propagator (a tracer provider injected without registering one): write W3C ourselves.
  if (!carrier.traceparent) carrier.traceparent = formatTraceparent(spanContext);
  return carrier;
}

function extractCarrier(carrier: TraceCarrier): Context {
  const extracted = propagation.extract(ROOT_CONTEXT, carrier);
  if (trace.getSpanContext(extracted)) return extracted;
  const parsed = parseTraceparent(carrier.traceparent);
  return parsed ? trace.setSpanContext(ROOT_CONTEXT, parsed) : ROOT_CONTEXT;
}

export function formatTraceparent(spanContext: SpanContext): string {
  const flags = (spanContext.traceFlags & TraceFlags.SAMPLED).toString(16).padStart(2, '0');
  return `00-${spanContext.traceId}-${spanContext.spanId}-${flags}`;
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

export function parseTraceparent(value: string | undefined): SpanContext | null {
  const match = value ? TRACEPARENT.exec(value.trim()) : null;
  if (!match) return null;
  const spanContext: SpanContext = {
    traceId: match[1]!,
    spanId: match[2]!,
    traceFlags: parseInt(match[3]!, 16),
    isRemote: true,
  };
  return isSpanContextValid(spanContext) ? spanContext : null;
}

/** The trace id stored with a fire (`null` when it carried none). */
export function traceIdOf(carrier: TraceCarrier | null): string | null {
  return carrier ? (parseTraceparent(carrier.traceparent)?.traceId ?? null) : null;
}

/** `error.type`: the error's class name (low cardinality, as the semantic conventions ask). */
function errorType(error: unknown): string {
  return error instanceof Error ? error.name || error.constructor.name : '_OTHER';
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message.slice(0, 500) : String(error).slice(0, 500);
}
