/**
 * A validated YAML job → its stored record, registry options and implementation (a module to import,
 * or a built-in type with bound options). Checks what the schema cannot: that the module file exists,
 * the reserved data key, and limits of the database columns.
 */
import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { BUILTIN_DATA_KEY, type BuiltinJobOptions } from '../jobs/builtin/builtin-jobs.js';
import type { SecretValue } from '../jobs/builtin/secret-value.js';
import type { JobOptions } from '../jobs/job.js';
import { resolveBackoff } from '../jobs/retry-policy.js';
import type { JobRecord } from '../store/definition-store.js';
import { parseDuration } from '../time/duration.js';
import type { SourcePosition } from './definition-error.js';
import { MAX_INT4, type JobInput } from './definition-schema.js';
import { YAML_SOURCE, type JobDefinition, type JobImplementation } from './definitions.js';
import { EntryErrors, type EntryErrorSink } from './entry-errors.js';
import type { YamlSource } from './yaml-source.js';

export interface JobBuildContext extends EntryErrorSink {
  source: YamlSource;
  /** Directory of the YAML file: module paths, cwd and secret files are relative to it. */
  dir: string;
  name: string;
  at: SourcePosition;
}

export function buildJob(input: JobInput, ctx: JobBuildContext): JobDefinition | undefined {
  const errors = new EntryErrors(ctx);
  const fail = errors.fail;

  const timeoutMs = input.timeout === undefined ? undefined : parseDuration(input.timeout);
  if (timeoutMs !== undefined && (timeoutMs < 1 || timeoutMs > MAX_INT4))
    fail(['timeout'], `timeout must be between 1ms and ${MAX_INT4}ms`);
  const backoffInput = input.retries?.backoff;
  const backoff = resolveBackoff({
    initialMs: backoffInput?.initial === undefined ? undefined : parseDuration(backoffInput.initial),
    maxMs: backoffInput?.max === undefined ? undefined : parseDuration(backoffInput.max),
    factor: backoffInput?.factor,
  });
  if (input.data && Object.hasOwn(input.data, BUILTIN_DATA_KEY))
    fail(['data', BUILTIN_DATA_KEY], `data key "${BUILTIN_DATA_KEY}" is reserved for built-in jobs`);

  let implementation: JobImplementation;
  let storedData: Record<string, unknown> = input.data ?? {};
  if (input.type === 'http' || input.type === 'command') {
    const { written, bound } = builtinOptions(input, ctx.dir, timeoutMs);
    implementation = { kind: 'builtin', options: bound };
    storedData = { ...storedData, [BUILTIN_DATA_KEY]: written };
    if (input.type === 'http' && typeof input.url === 'string' && !/^https?:\/\/[^/\s]/i.test(input.url)) {
      fail(['url'], `url "${input.url}" must be an http:// or https:// URL`);
    }
  } else {
    const module = input.module;
    if (!/^\.{1,2}\//.test(module) && !isAbsolute(module)) {
      fail(
        ['module'],
        `module "${module}" must be a path relative to this file (./jobs/${module}) or absolute`,
      );
    }
    const modulePath = resolve(ctx.dir, module);
    if (!errors.failed && !existsSync(modulePath))
      fail(['module'], `module file ${module} does not exist (looked for ${modulePath})`);
    implementation = {
      kind: 'module',
      module,
      modulePath,
      exportName: input.export ?? 'default',
      moduleAt: ctx.source.positionOf([...ctx.path, 'module']),
      exportAt: ctx.source.positionOf([...ctx.path, input.export === undefined ? 'module' : 'export']),
    };
  }
  if (errors.failed) return undefined;

  const options: JobOptions = {
    concurrency: input.concurrency ?? 'allow',
    timeoutMs,
    maxAttempts: input.retries?.attempts ?? 1,
    backoff,
    recover: input.recover ?? false,
    description: input.description,
    data: storedData,
  };
  const record: JobRecord = {
    name: ctx.name,
    module: implementation.kind === 'module' ? implementation.module : null,
    exportName: implementation.kind === 'module' ? implementation.exportName : null,
    description: input.description ?? null,
    data: storedData,
    concurrency: options.concurrency!,
    timeoutMs: timeoutMs ?? null,
    maxAttempts: options.maxAttempts!,
    backoff,
    recover: options.recover!,
    source: YAML_SOURCE,
  };
  return { name: ctx.name, record, options, implementation, at: ctx.at };
}

type BuiltinInput = Extract<JobInput, { type: 'http' | 'command' }>;

/** The options as written (stored, shown in diffs) and as bound to the class (paths resolved). */
function builtinOptions(
  input: BuiltinInput,
  dir: string,
  timeoutMs: number | undefined,
): { written: Record<string, unknown>; bound: BuiltinJobOptions } {
  const inFile = (value: SecretValue): SecretValue =>
    typeof value === 'object' && 'file' in value ? { file: resolve(dir, value.file) } : value;
  const mapValues = (map: Record<string, SecretValue> | undefined) =>
    map && Object.fromEntries(Object.entries(map).map(([name, value]) => [name, inFile(value)]));
  if (input.type === 'http') {
    const written = dropUndefined({
      type: 'http',
      url: input.url,
      method: input.method ?? 'GET',
      headers: input.headers,
      body: input.body,
      redirects: input.redirects,
    });
    const bound: BuiltinJobOptions = {
      type: 'http',
      url: inFile(input.url),
      method: input.method ?? 'GET',
      headers: mapValues(input.headers),
      body: input.body,
      timeoutMs,
      redirects: input.redirects,
    };
    return { written, bound };
  }
  const args = (input.args ?? []).map(String);
  const written = dropUndefined({
    type: 'command',
    command: input.command,
    args,
    cwd: input.cwd,
    env: input.env,
    inheritEnv: input.inheritEnv,
  });
  const bound: BuiltinJobOptions = {
    type: 'command',
    // A relative path with a slash (./bin/task) is relative to the YAML file; a bare name is looked up on PATH.
    command:
      input.command.includes('/') && !isAbsolute(input.command) ? resolve(dir, input.command) : input.command,
    args,
    cwd: input.cwd === undefined ? undefined : resolve(dir, input.cwd),
    env: mapValues(input.env),
    inheritEnv: input.inheritEnv,
    timeoutMs,
  };
  return { written, bound };
}

function dropUndefined(value: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined));
}
