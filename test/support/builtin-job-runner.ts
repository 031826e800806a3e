/**
 * Runs a built-in job (http, command) directly, outside any scheduler, with a fixed fire context and the
 * secret sources a test chooses: for the tests of what the job does with its options.
 */
import pino from 'pino';
import {
  createCommandJobClass,
  type CommandJobOptions,
  type CommandJobResult,
} from '../../src/jobs/builtin/command-job.js';
import {
  createHttpJobClass,
  type HttpJobOptions,
  type HttpJobResult,
} from '../../src/jobs/builtin/http-job.js';
import type { SecretSources } from '../../src/jobs/builtin/secret-value.js';
import type { JobContext } from '../../src/jobs/job.js';

/** The context of attempt 1 of a fire of trigger `t` (group `g`) at 2030-01-01T00:00Z (no upstream), logging nothing. */
export function builtinJobContext(signal: AbortSignal = new AbortController().signal): JobContext {
  const at = new Date('2030-01-01T00:00:00Z');
  return {
    job: 'builtin',
    data: {},
    fire: {
      trigger: 't',
      group: 'g',
      scheduledAt: at,
      firedAt: at,
      attempt: 1,
      fireId: '1',
      executionId: '1',
    },
    idempotencyKey: `t@${at.toISOString()}`,
    upstream: null,
    upstreams: [],
    signal,
    logger: pino({ level: 'silent' }),
  };
}

export function builtinJobRunners(secrets: SecretSources) {
  return {
    runHttp: (options: HttpJobOptions, signal?: AbortSignal) =>
      new (createHttpJobClass(options, { secrets }))().execute(
        builtinJobContext(signal),
      ) as Promise<HttpJobResult>,
    runCommand: (options: CommandJobOptions, signal?: AbortSignal) =>
      new (createCommandJobClass(options, { secrets }))().execute(
        builtinJobContext(signal),
      ) as Promise<CommandJobResult>,
  };
}

/** The error a promise rejects with; fails the test when it resolves. */
export async function failure(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    () => {
      throw new Error('expected a failure');
    },
    (error: unknown) => error as Error,
  );
}
