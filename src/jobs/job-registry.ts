/**
 * The job classes this replica can run. A replica acquires only triggers whose job it has registered,
 * so replicas with different code can share a database safely.
 */
import type { JobClass, JobOptions } from './job.js';
import { BelfryError } from '../errors/belfry-error.js';

export interface RegisteredJob {
  name: string;
  jobClass: JobClass<never>;
  options: JobOptions;
  /** Where the definition came from: `code` (registerJob) or `yaml` (a module reference). */
  source: 'code' | 'yaml';
  module?: string;
  exportName?: string;
}

export class JobRegistryError extends BelfryError.withCode('BELFRY_ERR_JOB_REGISTRY') {}

export class JobRegistry {
  readonly #jobs = new Map<string, RegisteredJob>();

  register(job: RegisteredJob): void {
    if (!/^[A-Za-z0-9_.:-]{1,200}$/.test(job.name)) {
      throw new JobRegistryError(`job name "${job.name}" may use letters, digits and _ . : - only`);
    }
    if (typeof job.jobClass !== 'function' || typeof job.jobClass.prototype?.execute !== 'function') {
      throw new JobRegistryError(`job "${job.name}" must be a class with an execute(ctx) method`);
    }
    this.#jobs.set(job.name, { ...job, options: { ...job.jobClass.options, ...job.options } });
  }

  get(name: string): RegisteredJob | undefined {
    return this.#jobs.get(name);
  }

  names(): string[] {
    return [...this.#jobs.keys()].sort();
  }

  all(): RegisteredJob[] {
    return [...this.#jobs.values()];
  }
}
