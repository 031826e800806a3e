/**
 * A pino `mixin` that stamps each log line with the active span's ids (`trace_id`, `span_id`,
 * `trace_flags`, the names the OpenTelemetry log data model and most backends correlate on). With
 * tracing off there is no active span and it adds nothing.
 */
import { context, isSpanContextValid, trace } from '@opentelemetry/api';

export function traceContextMixin(): Record<string, string> {
  const span = trace.getSpan(context.active());
  if (!span) return {};
  const spanContext = span.spanContext();
  if (!isSpanContextValid(spanContext)) return {};
  return {
    trace_id: spanContext.traceId,
    span_id: spanContext.spanId,
    trace_flags: spanContext.traceFlags.toString(16).padStart(2, '0'),
  };
}
