/**
 * The validate-time check of continuation triggers (`after:`): the jobs they wait for, and cycles. A
 * trigger `t` with `job: D` and `after: { job: U }` (or `all: [U, …]`) is an edge U → D; a cycle of such
 * edges would fire forever (each run's success firing the next round), so every trigger on one is
 * rejected, with the cycle named: `continuation cycle: extract → load → extract (triggers …)`.
 */
import { upstreamJobs, type AfterSpec } from '../time/after-spec.js';

export interface ContinuationEdge {
  trigger: string;
  /** The job the trigger fires. */
  job: string;
  spec: AfterSpec;
}

export interface ContinuationCycle {
  /** A trigger on the cycle (each trigger of a cycle is reported). */
  trigger: string;
  /** The jobs around the cycle, first repeated last: [U, D, …, U]. */
  jobs: string[];
  /** The triggers whose edges make the cycle, in the same order. */
  triggers: string[];
}

export function findContinuationCycles(edges: readonly ContinuationEdge[]): ContinuationCycle[] {
  const out = new Map<string, { to: string; trigger: string }[]>();
  for (const edge of edges)
    for (const upstream of upstreamJobs(edge.spec))
      out.set(upstream, [...(out.get(upstream) ?? []), { to: edge.job, trigger: edge.trigger }]);
  const cycles: ContinuationCycle[] = [];
  for (const edge of edges) {
    for (const upstream of upstreamJobs(edge.spec)) {
      const path = shortestPath(out, edge.job, upstream);
      if (!path) continue;
      cycles.push({
        trigger: edge.trigger,
        jobs: [upstream, edge.job, ...path.map((step) => step.to)],
        triggers: [edge.trigger, ...path.map((step) => step.trigger)],
      });
      break;
    }
  }
  return cycles;
}

/** The edges of a shortest path from `from` to `to` (empty when they are the same job), or undefined. */
function shortestPath(
  out: Map<string, { to: string; trigger: string }[]>,
  from: string,
  to: string,
): { to: string; trigger: string }[] | undefined {
  if (from === to) return [];
  const via = new Map<string, { from: string; to: string; trigger: string }>();
  const queue = [from];
  const seen = new Set([from]);
  while (queue.length > 0) {
    const job = queue.shift()!;
    for (const step of out.get(job) ?? []) {
      if (seen.has(step.to)) continue;
      seen.add(step.to);
      via.set(step.to, { from: job, ...step });
      if (step.to === to) {
        const path: { to: string; trigger: string }[] = [];
        for (let at = to; at !== from; at = via.get(at)!.from) path.unshift(via.get(at)!);
        return path.map(({ to: next, trigger }) => ({ to: next, trigger }));
      }
      queue.push(step.to);
    }
  }
  return undefined;
}

export function formatCycle(cycle: ContinuationCycle): string {
  return `continuation cycle: ${cycle.jobs.join(' → ')} (triggers ${cycle.triggers.join(', ')}); a chain must end`;
}
