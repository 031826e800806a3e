/**
 * What the testing kit accepts as definitions: YAML file paths, a parsed object in the YAML's shape
 * (`{ calendars, jobs, triggers }`), or definitions already loaded. Files and objects go through the same
 * loader as `belfry validate` and `belfry start` (config/definition-loader.ts), so a definition the kit
 * accepts is one a replica accepts, and an invalid one fails with the same file:line messages.
 */
import { stringify } from 'yaml';
import { BelfryError } from '../errors/belfry-error.js';
import { formatDefinitionError } from '../config/definition-error.js';
import { loadDefinitions } from '../config/definition-loader.js';
import type { Definitions } from '../config/definitions.js';

/** The YAML file's shape, as a plain object. */
export interface DefinitionsObject {
  calendars?: Record<string, unknown>;
  jobs?: Record<string, unknown>;
  triggers?: Record<string, unknown>;
}

export type DefinitionsInput = string | readonly string[] | DefinitionsObject | Definitions;

export interface LoadInputOptions {
  /** Jobs registered in code (not in YAML) that triggers may name. */
  knownJobs?: readonly string[];
  /** The name errors give an inline object (default `definitions.yaml`, in the working directory). */
  inlineName?: string;
}

function isLoaded(input: DefinitionsInput): input is Definitions {
  return typeof input === 'object' && !Array.isArray(input) && 'files' in input && Array.isArray(input.files);
}

export async function loadDefinitionsInput(
  input: DefinitionsInput,
  options: LoadInputOptions = {},
): Promise<Definitions> {
  if (isLoaded(input)) return input;
  let files: readonly string[];
  let readFile: ((file: string) => Promise<string>) | undefined;
  if (typeof input === 'string') files = [input];
  else if (Array.isArray(input)) files = input as readonly string[];
  else {
    const name = options.inlineName ?? 'definitions.yaml';
    const text = stringify(input);
    files = [name];
    readFile = async () => text;
  }
  const loaded = await loadDefinitions(files, { knownJobs: options.knownJobs, readFile });
  if (!loaded.ok) {
    throw new BelfryError(
      'BELFRY_ERR_INVALID_DEFINITIONS',
      `definitions have errors:\n${loaded.errors.map(formatDefinitionError).join('\n')}`,
    );
  }
  return loaded.definitions;
}
