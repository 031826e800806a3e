/** Percentiles and summaries of samples (milliseconds). */

export interface Summary {
  n: number;
  p50: number | null;
  p99: number | null;
  max: number | null;
  mean: number | null;
}

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1]!;
}

export function summarize(values: readonly number[]): Summary {
  const sorted = Float64Array.from(values).sort();
  const list = Array.from(sorted);
  const sum = list.reduce((total, value) => total + value, 0);
  return {
    n: list.length,
    p50: percentile(list, 50),
    p99: percentile(list, 99),
    max: list.length ? list[list.length - 1]! : null,
    mean: list.length ? sum / list.length : null,
  };
}

export function median(values: readonly number[]): number | null {
  return percentile(Float64Array.from(values).sort() as unknown as number[], 50);
}

export function round(value: number | null | undefined, digits = 1): number | null {
  if (value === null || value === undefined || !Number.isFinite(value)) return null;
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

/**
 * Percentiles over all `total` jobs of which only `samples.length` started: a job still waiting after
 * `waitedMs` (the wait after the last job was due) has a lag of at least that, so a percentile whose
 * rank falls among the waiting jobs is reported as that lower bound and listed in `lowerBounds`.
 * `keys` names the metric of each percentile (p50, p99, and max as the 100th).
 */
export function censoredPercentiles(
  keys: { p50: string; p99: string; max?: string },
  samples: readonly number[],
  total: number,
  waitedMs: number,
): { metrics: Record<string, number | null>; lowerBounds: string[]; summary: Summary } {
  const sorted = Float64Array.from(samples).sort();
  const metrics: Record<string, number | null> = {};
  const lowerBounds: string[] = [];
  const wanted: [string | undefined, number][] = [
    [keys.p50, 50],
    [keys.p99, 99],
    [keys.max, 100],
  ];
  for (const [key, p] of wanted) {
    if (key === undefined) continue;
    const rank = Math.max(1, Math.ceil((p / 100) * Math.max(total, sorted.length)));
    if (rank <= sorted.length) {
      metrics[key] = round(sorted[rank - 1]);
    } else {
      metrics[key] = round(Math.max(waitedMs, sorted.length ? sorted[sorted.length - 1]! : 0));
      lowerBounds.push(key);
    }
  }
  return { metrics, lowerBounds, summary: summarize(samples) };
}
