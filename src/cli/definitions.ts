/**
 * The bridge between the CLI and the definitions layer (src/config): load and validate the YAML files,
 * register their job classes, reconcile them into the database at start.
 */
import type { Logger } from 'pino';
import type { Scheduler } from '../scheduler.js';

export interface PreparedDefinitions {
  ok: true;
  register(scheduler: Scheduler): Promise<void>;
  reconcile(scheduler: Scheduler, logger: Logger): Promise<void>;
}

export async function prepareDefinitions(files: string[]): Promise<PreparedDefinitions | { ok: false; errors: string[] }> {
  if (files.length === 0) {
    return { ok: true, register: async () => {}, reconcile: async () => {} };
  }
  return { ok: false, errors: ['definitions loading is not wired yet'] };
}

export async function reconcileDefinitions(): Promise<void> {}
