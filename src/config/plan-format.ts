/**
 * How a plan reads: one line per change, Terraform-style markers, then a count.
 *
 *   + trigger report-nightly (cron 0 2 * * * Europe/Paris)
 *   ~ job report: timeout 30s → 1m
 *   - trigger old (yaml, waiting; pruned)
 *   - trigger one-off-7 (api, waiting; deleted with job legacy)
 *   ! job legacy: in the database, in no file (kept; --prune deletes it)
 *   = 3 unchanged
 */
import type { ApplyPlan } from './definition-reconciler.js';
import type { PlanAction, PlanEntry } from './reconcile-diff.js';

const MARK: Record<PlanAction, string> = {
  add: '+',
  change: '~',
  remove: '-',
  leftover: '!',
  unchanged: '=',
};
const TYPE_ORDER = { calendar: 0, job: 1, trigger: 2 } as const;
const ACTION_ORDER: Record<PlanAction, number> = { add: 0, change: 1, remove: 2, leftover: 3, unchanged: 4 };

export interface PlanCounts {
  add: number;
  change: number;
  remove: number;
  leftover: number;
  unchanged: number;
}

export function planCounts(plan: Pick<ApplyPlan, 'entries'>): PlanCounts {
  const counts: PlanCounts = { add: 0, change: 0, remove: 0, leftover: 0, unchanged: 0 };
  for (const entry of plan.entries) counts[entry.action] += 1;
  return counts;
}

export function formatPlan(plan: Pick<ApplyPlan, 'entries'>, options: { verbose?: boolean } = {}): string {
  const lines: string[] = [];
  const sorted = [...plan.entries].sort(
    (a, b) =>
      ACTION_ORDER[a.action] - ACTION_ORDER[b.action] ||
      TYPE_ORDER[a.type] - TYPE_ORDER[b.type] ||
      a.name.localeCompare(b.name),
  );
  for (const entry of sorted) {
    if (entry.action === 'unchanged' && !options.verbose) continue;
    lines.push(formatEntry(entry));
  }
  const counts = planCounts(plan);
  if (counts.unchanged > 0 && !options.verbose) lines.push(`= ${counts.unchanged} unchanged`);
  if (lines.length === 0) lines.push('= nothing defined');
  return lines.join('\n');
}

function formatEntry(entry: PlanEntry): string {
  const head = `${MARK[entry.action]} ${entry.type} ${entry.name}`;
  const next =
    entry.nextFireAt === undefined
      ? ''
      : entry.nextFireAt === null
        ? ', no fire left'
        : `, next ${entry.nextFireAt}`;
  switch (entry.action) {
    case 'add':
      return `${head} (${entry.summary}${entry.setPaused ? ', paused' : ''}${next})`;
    case 'change': {
      const changes = entry.changes
        .map((change) => `${change.field} ${change.from} → ${change.to}`)
        .join(', ');
      const when =
        entry.type !== 'trigger'
          ? ''
          : entry.reschedule
            ? ` (next fire recomputed${next})`
            : ' (next fire kept)';
      return `${head}: ${changes}${when}`;
    }
    case 'remove':
      if (entry.cascadeFrom)
        return `${head} (${entry.source}, ${entry.state}; deleted with ${entry.cascadeFrom.type} ${entry.cascadeFrom.name})`;
      if (entry.unfinishedExecutions) {
        const count = entry.unfinishedExecutions;
        return `${head} (pruned; ${count} pending or running execution${count === 1 ? ' is' : 's are'} kept in the history without ${count === 1 ? 'its' : 'their'} job)`;
      }
      return `${head} (${entry.state ? `${entry.source}, ${entry.state}; ` : ''}pruned)`;
    case 'leftover':
      return `${head}: in the database, in no file (kept; --prune deletes it)`;
    case 'unchanged':
      return `${head} (${entry.summary})`;
  }
}

export function formatPlanSummary(plan: Pick<ApplyPlan, 'entries'>): string {
  const c = planCounts(plan);
  return `${c.add} to add, ${c.change} to change, ${c.remove} to remove, ${c.leftover} leftover, ${c.unchanged} unchanged`;
}

/** The plan as JSON for `--json` (definitions left out). */
export function planToJson(plan: ApplyPlan, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    ...extra,
    prune: plan.prune,
    force: plan.force,
    counts: planCounts(plan),
    entries: plan.entries,
    refusals: plan.refusals,
  };
}
