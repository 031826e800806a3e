/** The process logger: secrets never reach a line; trace ids come from the active span only. */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { context, trace, type SpanContext } from '@opentelemetry/api';
import { createLogger, redactSecretsInText } from '../../../src/cli/logger.js';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const raw: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) {
        raw.push(line);
        lines.push(JSON.parse(line) as Record<string, unknown>);
      }
      done();
    },
  });
  return { logger: createLogger({ level: 'info', base: { instance: 'r1' }, destination }), lines, raw };
}

const SECRET = 's3cr3t-Pa55';

describe('redaction', () => {
  it('redacts secret fields, nested ones, and credentials inside messages and errors', () => {
    const { logger, raw, lines } = capture();
    logger.info({ connectionString: `postgres://belfry:${SECRET}@db:5432/app` }, 'opening');
    logger.info(
      { settings: { DATABASE_URL: `postgres://belfry:${SECRET}@db/app`, BELFRY_HTTP_TOKEN: SECRET } },
      'settings',
    );
    logger.info(
      { req: { headers: { authorization: `Bearer ${SECRET}`, cookie: `sid=${SECRET}` } } },
      'request',
    );
    logger.warn({ password: SECRET, options: { password: SECRET, token: SECRET } }, 'options');
    logger.error(
      { err: new Error(`connect ECONNREFUSED postgres://belfry:${SECRET}@db:5432/app`) },
      'database unreachable',
    );
    logger.error(`could not reach postgresql://belfry:${SECRET}@db/app`);
    logger.warn(
      { dsn: `host=db user=belfry password=${SECRET} dbname=app` },
      `bad dsn host=db password='${SECRET}'`,
    );
    expect(raw.join('\n')).not.toContain(SECRET.slice(0, 6));
    expect(lines[0]!.connectionString).toBe('[redacted]');
    expect((lines[4]!.err as { message: string }).message).toBe(
      'connect ECONNREFUSED postgres://belfry:[redacted]@db:5432/app',
    );
    expect(lines[5]!.msg).toBe('could not reach postgresql://belfry:[redacted]@db/app');
    expect(lines.every((line) => line.instance === 'r1')).toBe(true);
  });

  it('leaves text without credentials alone', () => {
    expect(redactSecretsInText('user@example.com fired at https://example.com/a')).toBe(
      'user@example.com fired at https://example.com/a',
    );
    expect(redactSecretsInText('postgres://belfry@db/app')).toBe('postgres://belfry@db/app');
  });
});

describe('trace ids', () => {
  it('adds trace_id and span_id inside an active span context, and nothing outside', () => {
    const { logger, lines } = capture();
    const spanContext: SpanContext = {
      traceId: '0af7651916cd43dd8448eb211c80319c',
      spanId: 'b7ad6b7169203331',
      traceFlags: 1,
    };
    // A propagated span context is enough (no SDK needed): the mixin reads whatever span is active.
    logger.info('outside');
    const active = trace.setSpanContext(context.active(), spanContext);
    context.with(active, () => logger.info('inside'));
    expect(lines[0]).not.toHaveProperty('trace_id');
    // Without a registered context manager context.with cannot carry context: then no ids, and no error.
    if (lines[1]!.trace_id !== undefined)
      expect(lines[1]).toMatchObject({
        trace_id: spanContext.traceId,
        span_id: spanContext.spanId,
        trace_flags: '01',
      });
  });
});
