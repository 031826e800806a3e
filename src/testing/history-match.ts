/**
 * What "the history shows that a trigger fired N times" means, as a plain function for any test runner;
 * `belfry/testing/vitest` wraps it as the `toHaveFired` matcher.
 */
export interface FiredRow {
  trigger: string;
  job: string;
  status: string;
  scheduledAt: Date;
  attempt?: number;
}

export interface FiredExpectation {
  /** Exactly this many fires (first attempts, any status unless `status` says). */
  times?: number;
  /** Only fires whose first attempt has this status (default: any run, i.e. not misfired or skipped). */
  status?: string | readonly string[];
  /** Only fires scheduled in [since, until). */
  since?: Date | string;
  until?: Date | string;
}

export interface FiredResult {
  pass: boolean;
  count: number;
  message: string;
}

const RUN = ['succeeded', 'failed', 'timed_out', 'running', 'pending', 'cancelled', 'recovered', 'abandoned'];

/** Counts a trigger's (or job's) fires in history rows; `name` matches the trigger, else the job. */
export function countFired(
  rows: readonly FiredRow[],
  name: string,
  expected: FiredExpectation = {},
): FiredResult {
  const statuses =
    expected.status === undefined
      ? RUN
      : typeof expected.status === 'string'
        ? [expected.status]
        : expected.status;
  const since = expected.since === undefined ? -Infinity : new Date(expected.since).getTime();
  const until = expected.until === undefined ? Infinity : new Date(expected.until).getTime();
  const byTrigger = rows.some((row) => row.trigger === name);
  const matching = rows.filter(
    (row) =>
      (byTrigger ? row.trigger === name : row.job === name) &&
      (row.attempt ?? 1) === 1 &&
      statuses.includes(row.status) &&
      row.scheduledAt.getTime() >= since &&
      row.scheduledAt.getTime() < until,
  );
  const count = matching.length;
  const pass = expected.times === undefined ? count > 0 : count === expected.times;
  const what = `${byTrigger ? 'trigger' : 'job'} "${name}"`;
  const wanted = expected.times === undefined ? 'at least once' : `${expected.times} time(s)`;
  const statusText = expected.status === undefined ? '' : ` with status ${statuses.join('/')}`;
  return {
    pass,
    count,
    message: pass
      ? `expected ${what} not to have fired ${wanted}${statusText}, and it fired ${count} time(s)`
      : `expected ${what} to have fired ${wanted}${statusText}, but it fired ${count} time(s)`,
  };
}
