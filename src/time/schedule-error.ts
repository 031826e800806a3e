/** The error every schedule and calendar check throws; `field` names the part of the spec at fault. */
export class ScheduleError extends Error {
  readonly code = 'BELFRY_BAD_SCHEDULE';
  constructor(
    message: string,
    /** The part of the spec at fault, e.g. `cron`, `quartz`, `timezone`, `every`, `calendar`. */
    readonly field: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ScheduleError';
  }
}
