/**
 * Loaded definitions: what the YAML files declare, already in the shapes the store keeps (JobRecord,
 * TriggerRecord, calendar specs), each with the place it was written for later errors.
 */
import type { JobOptions } from '../jobs/job.js';
import type { BuiltinJobOptions } from '../jobs/builtin/builtin-jobs.js';
import type { CalendarResolver, CalendarSpec } from '../time/calendar.js';
import { createCalendarResolver } from '../time/calendar-resolver.js';
import type { JobRecord, TriggerRecord } from '../store/definition-store.js';
import type { SourcePosition } from './definition-error.js';

/** The `source` column value of everything YAML defines: apply manages (and prunes) only these rows. */
export const YAML_SOURCE = 'yaml';

export interface CalendarDefinition {
  name: string;
  spec: CalendarSpec;
  at: SourcePosition;
}

export type JobImplementation =
  | {
      kind: 'module';
      /** As written in YAML (stored in the database, stable across checkouts). */
      module: string;
      /** Absolute path of the module file. */
      modulePath: string;
      exportName: string;
      moduleAt: SourcePosition;
      exportAt: SourcePosition;
    }
  | {
      kind: 'builtin';
      /** With relative paths (cwd, secret files) resolved against the YAML file's directory. */
      options: BuiltinJobOptions;
    };

export interface JobDefinition {
  name: string;
  record: JobRecord;
  /** The options the job registry gets (the same values as `record`). */
  options: JobOptions;
  implementation: JobImplementation;
  at: SourcePosition;
}

export interface TriggerDefinition {
  name: string;
  record: TriggerRecord;
  /** true pauses, false resumes, undefined leaves the stored state alone. */
  paused: boolean | undefined;
  at: SourcePosition;
}

import type { ServiceYaml } from './service-definitions.js';

export interface Definitions {
  files: string[];
  calendars: CalendarDefinition[];
  jobs: JobDefinition[];
  triggers: TriggerDefinition[];
  /** Long-running services (service-definitions.ts); absent in definitions built before issue 12. */
  services?: ServiceYaml[];
}

/** Resolves calendar names the way the definitions see them: their own calendars first, then shipped ones. */
export function definitionsCalendarResolver(definitions: Pick<Definitions, 'calendars'>): CalendarResolver {
  return createCalendarResolver(
    Object.fromEntries(definitions.calendars.map((calendar) => [calendar.name, calendar.spec])),
  );
}
