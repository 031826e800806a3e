/**
 * Built-in jobs for YAML-only users: `http` and `command`.
 *
 * Storage convention: a built-in job is stored like any job, with `module` and `export_name` null, and
 * its type and options (secret *references* only, never values) under the reserved key `$builtin` of the
 * job's `data`. That makes an options change show up in `belfry apply`'s diff and keeps the definition
 * visible to operators. The class that runs is built from the YAML on each replica
 * (`createBuiltinJobClass`) with the options bound, and ignores `$builtin` in the fire's data, so fire
 * data (from a trigger or `fireNow`) can never change what a built-in job requests or executes.
 */
import type { JobClass } from '../job.js';
import { createCommandJobClass, type CommandJobOptions } from './command-job.js';
import { createHttpJobClass, type BuiltinJobDeps, type HttpJobOptions } from './http-job.js';

export const BUILTIN_DATA_KEY = '$builtin';

export type BuiltinJobOptions =
  ({ type: 'http' } & HttpJobOptions) | ({ type: 'command' } & CommandJobOptions);

export type BuiltinJobType = BuiltinJobOptions['type'];

export function createBuiltinJobClass(
  options: BuiltinJobOptions,
  deps: BuiltinJobDeps,
): JobClass<Record<string, unknown>> {
  switch (options.type) {
    case 'http':
      return createHttpJobClass(options, deps);
    case 'command':
      return createCommandJobClass(options, deps);
  }
}
