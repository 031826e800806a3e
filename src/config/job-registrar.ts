/**
 * Registers the jobs that definitions declare in a replica's JobRegistry: module jobs by importing
 * their module (relative to the YAML file, as a file URL; `.ts` works when the CLI runs under tsx),
 * built-in jobs with a class from src/jobs/builtin/ whose options are bound here.
 *
 * Only `belfry start` (and tests) call this: validate and apply never run user code.
 */
import { readFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { createBuiltinJobClass } from '../jobs/builtin/builtin-jobs.js';
import type { JobClass } from '../jobs/job.js';
import type { JobRegistry } from '../jobs/job-registry.js';
import type { Clock } from '../time/clock.js';
import { DefinitionsInvalidError, type DefinitionError, type SourcePosition } from './definition-error.js';
import type { Definitions, JobDefinition } from './definitions.js';

export interface RegisterJobsOptions {
  /**
   * Where built-in jobs read `{ env }` secrets (and the command job's passed-through variables); none when
   * not given: `belfry start` passes the process environment (src/cli/settings.ts processEnvironment).
   */
  env?: Readonly<Record<string, string | undefined>>;
  readFile?: (path: string) => Promise<string>;
  clock?: Clock;
  /** Imports a module; default dynamic import(). */
  importModule?: (url: string) => Promise<Record<string, unknown>>;
}

/** Registers every job; throws DefinitionsInvalidError listing every job that could not be loaded. */
export async function registerDefinitionJobs(
  definitions: Definitions,
  registry: JobRegistry,
  options: RegisterJobsOptions = {},
): Promise<string[]> {
  const errors: DefinitionError[] = [];
  const importModule =
    options.importModule ?? ((url: string) => import(url) as Promise<Record<string, unknown>>);
  const secrets = {
    env: options.env ?? {},
    readFile: options.readFile ?? ((path: string) => readFile(path, 'utf8')),
  };
  const resolved: { job: JobDefinition; jobClass: JobClass<never> }[] = [];

  for (const job of definitions.jobs) {
    const fail = (at: SourcePosition, message: string) =>
      errors.push({ ...at, message: `job "${job.name}": ${message}` });
    const implementation = job.implementation;
    if (implementation.kind === 'builtin') {
      resolved.push({
        job,
        jobClass: createBuiltinJobClass(implementation.options, {
          secrets,
          clock: options.clock,
        }) as JobClass<never>,
      });
      continue;
    }
    let module: Record<string, unknown>;
    try {
      module = await importModule(pathToFileURL(implementation.modulePath).href);
    } catch (error) {
      fail(implementation.moduleAt, `cannot import ${implementation.module}: ${(error as Error).message}`);
      continue;
    }
    if (!Object.hasOwn(module, implementation.exportName)) {
      const exported = Object.keys(module).filter((name) => typeof module[name] === 'function');
      fail(
        implementation.exportAt,
        `${implementation.module} has no export "${implementation.exportName}"${exported.length ? ` (it exports ${exported.join(', ')})` : ''}`,
      );
      continue;
    }
    const candidate = module[implementation.exportName];
    if (!isJobClass(candidate)) {
      fail(
        implementation.exportAt,
        `export "${implementation.exportName}" of ${implementation.module} is not a class with an execute(ctx) method`,
      );
      continue;
    }
    resolved.push({ job, jobClass: candidate });
  }
  if (errors.length > 0) throw new DefinitionsInvalidError(errors);

  for (const { job, jobClass } of resolved) {
    registry.register({
      name: job.name,
      jobClass,
      options: job.options,
      source: 'yaml',
      ...(job.implementation.kind === 'module'
        ? { module: job.implementation.module, exportName: job.implementation.exportName }
        : {}),
    });
  }
  return resolved.map(({ job }) => job.name);
}

function isJobClass(value: unknown): value is JobClass<never> {
  return (
    typeof value === 'function' &&
    typeof (value as { prototype?: { execute?: unknown } }).prototype?.execute === 'function'
  );
}
