/**
 * The `after` kind: a continuation trigger, fired by other jobs' outcomes rather than by time. It has no
 * fire times of its own (`next` is always null), so the planner, the audit's expected fires and `belfry
 * next` see a schedule that never fires; the completion path fires it (store/continuation-sql.ts).
 *
 * - single upstream: `{ kind: 'after', job, on }`: once per upstream fire whose final outcome is in `on`
 *   (`any` = succeeded, failed or timed_out);
 * - fan-in: `{ kind: 'after', all, withinMs }`: once per upstream schedule time at which every job of
 *   `all` has succeeded, the last no later than `withinMs` after the first.
 */
export const AFTER_OUTCOMES = ['succeeded', 'failed', 'timed_out', 'any'] as const;
export type AfterOutcome = (typeof AFTER_OUTCOMES)[number];

export interface AfterSpec {
  kind: 'after';
  /** The upstream job (single upstream). */
  job?: string;
  /** The upstream outcomes that fire it (single upstream; default succeeded). */
  on?: AfterOutcome[];
  /** The upstream jobs of a fan-in. */
  all?: string[];
  /** A fan-in fires only if its last upstream succeeded at most this long after its first. */
  withinMs?: number;
}

/** The upstream jobs of an `after` spec. */
export function upstreamJobs(spec: AfterSpec): string[] {
  return spec.all ?? (spec.job === undefined ? [] : [spec.job]);
}
