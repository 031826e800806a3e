/**
 * What `belfry start` does with definition files, in one place: load and validate them, then (after the
 * scheduler exists) register their job classes, and (after migrations) reconcile them into the database
 * before the replica fires anything.
 */
import type { Logger } from 'pino';
import type { Scheduler } from '../scheduler.js';
import type { DueTrigger } from '../store/fire-store.js';
import { compileSchedule, type Schedule, type ScheduleSpec } from '../time/schedule.js';
import { formatDefinitionError } from './definition-error.js';
import { applyDefinitions } from './definition-reconciler.js';
import { loadDefinitions, type LoadOptions } from './definition-loader.js';
import { definitionsCalendarResolver, type Definitions } from './definitions.js';
import { registerDefinitionJobs, type RegisterJobsOptions } from './job-registrar.js';
import { registerDefinitionServices } from './service-definitions.js';
import { formatPlan, formatPlanSummary } from './plan-format.js';
import { planHasChanges } from './definition-reconciler.js';

export interface StartDefinitions {
  ok: true;
  definitions: Definitions;
  /** Registers the job classes in the scheduler's registry (imports the modules). Call before start(). */
  register(scheduler: Scheduler): Promise<void>;
  /** Applies the definitions (one locked transaction; never prunes) and logs what changed. */
  reconcile(scheduler: Scheduler, logger: Logger): Promise<void>;
  /** For SchedulerOptions.compileSchedule: resolves the calendars the files define (and shipped ones). */
  compileSchedule(spec: ScheduleSpec, trigger: DueTrigger): Schedule;
}

export async function prepareStartDefinitions(
  files: readonly string[],
  options: LoadOptions & RegisterJobsOptions = {},
): Promise<StartDefinitions | { ok: false; errors: string[] }> {
  const loaded = await loadDefinitions(files, options);
  if (!loaded.ok) return { ok: false, errors: loaded.errors.map(formatDefinitionError) };
  const { definitions } = loaded;
  const calendars = definitionsCalendarResolver(definitions);
  return {
    ok: true,
    definitions,
    register: async (scheduler) => {
      await registerDefinitionJobs(definitions, scheduler.registry, options);
      await registerDefinitionServices(definitions.services ?? [], scheduler, options);
    },
    reconcile: async (scheduler, logger) => {
      const plan = await applyDefinitions(scheduler.executor, definitions);
      if (planHasChanges(plan))
        logger.info({ plan: formatPlan(plan) }, `definitions applied: ${formatPlanSummary(plan)}`);
      else logger.info(`definitions unchanged: ${formatPlanSummary(plan)}`);
    },
    compileSchedule: (spec) => compileSchedule(spec, { calendars }),
  };
}
