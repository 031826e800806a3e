/**
 * The bridge between the CLI and the definitions layer (src/config): load and validate the YAML files,
 * register their job classes, reconcile them into the database at start.
 */
import { prepareStartDefinitions, type StartDefinitions } from '../config/start-definitions.js';
import type { Scheduler } from '../scheduler.js';
import { processEnvironment } from './settings.js';

export type PreparedDefinitions = Pick<StartDefinitions, 'ok' | 'register' | 'reconcile'>;

export async function prepareDefinitions(
  files: string[],
): Promise<PreparedDefinitions | { ok: false; errors: string[] }> {
  if (files.length === 0) {
    return { ok: true, register: async () => {}, reconcile: async () => {} };
  }
  // Built-in jobs resolve `{ env }` secrets from the process environment, handed over here.
  return prepareStartDefinitions(files, { env: processEnvironment() });
}

export type { Scheduler };
