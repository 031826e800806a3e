import { BelfryError } from '../errors/belfry-error.js';

/** The error every schedule and calendar check throws; `field` names the part of the spec at fault. */
export class ScheduleError extends BelfryError {
  constructor(
    message: string,
    /** The part of the spec at fault, e.g. `cron`, `quartz`, `timezone`, `every`, `calendar`. */
    readonly field: string,
    options?: ErrorOptions,
  ) {
    super('BELFRY_ERR_BAD_SCHEDULE', message, options);
  }
}
