/**
 * Results of a run: one record per system, printed as a system × metric table with Belfry/peer ratios,
 * and written as JSON with the full details.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { round, type Summary } from './stats.js';

export type SystemName = 'belfry' | 'graphile-worker' | 'pg-boss';

export interface MetricSpec {
  key: string;
  label: string;
  better: 'lower' | 'higher';
  /** Shown for one system only: no ratio. */
  belfryOnly?: boolean;
}

/**
 * The table's rows. "handler" rows are measured the same way for every system (when the job's handler
 * started, wall clock, against when the work was due or requested); the `job_history` rows are Belfry's
 * own audit record of the same fires (started_at is the acquiring transaction's now()).
 */
export const METRICS: MetricSpec[] = [
  {
    key: 'herd.allFiredMs',
    label: 'herd: all fired after due instant, job_history (ms)',
    better: 'lower',
    belfryOnly: true,
  },
  { key: 'herd.historyLagP50', label: 'herd: lag p50, job_history (ms)', better: 'lower', belfryOnly: true },
  { key: 'herd.historyLagP99', label: 'herd: lag p99, job_history (ms)', better: 'lower', belfryOnly: true },
  { key: 'herd.historyLagMax', label: 'herd: lag max, job_history (ms)', better: 'lower', belfryOnly: true },
  { key: 'herd.allStartedMs', label: 'herd: all started after due instant, handler (ms)', better: 'lower' },
  { key: 'herd.lagP50', label: 'herd: lag p50, handler (ms)', better: 'lower' },
  { key: 'herd.lagP99', label: 'herd: lag p99, handler (ms)', better: 'lower' },
  { key: 'herd.lagMax', label: 'herd: lag max, handler (ms)', better: 'lower' },
  { key: 'herd.drainPerSec', label: 'herd: drain rate, jobs due at once (jobs/s)', better: 'higher' },
  {
    key: 'sustained.perSec',
    label: 'sustained: fires/s (Belfry interval triggers) or jobs/s drained (peers)',
    better: 'higher',
  },
  {
    key: 'sustained.lagP99',
    label: 'sustained: lag p99, job_history (ms)',
    better: 'lower',
    belfryOnly: true,
  },
  { key: 'sustained.duplicates', label: 'sustained: duplicate fires', better: 'lower', belfryOnly: true },
  { key: 'sustained.missing', label: 'sustained: missing fires (gaps)', better: 'lower', belfryOnly: true },
  {
    key: 'light.historyLagP50',
    label: 'light: trigger lag p50, job_history (ms)',
    better: 'lower',
    belfryOnly: true,
  },
  {
    key: 'light.historyLagP99',
    label: 'light: trigger lag p99, job_history (ms)',
    better: 'lower',
    belfryOnly: true,
  },
  {
    key: 'light.lagP50',
    label: 'light: lag p50, handler (Belfry: trigger due; peers: add) (ms)',
    better: 'lower',
  },
  {
    key: 'light.lagP99',
    label: 'light: lag p99, handler (Belfry: trigger due; peers: add) (ms)',
    better: 'lower',
  },
  { key: 'addToStart.p50', label: 'add-to-start p50 (Belfry: fireNow) (ms)', better: 'lower' },
  { key: 'addToStart.p99', label: 'add-to-start p99 (Belfry: fireNow) (ms)', better: 'lower' },
  { key: 'idle.txnPerSecPerProcess', label: 'idle: transactions/s per replica or worker', better: 'lower' },
  { key: 'cron.lagP50', label: 'cron: lag p50, handler (ms)', better: 'lower' },
  { key: 'cron.lagP99', label: 'cron: lag p99, handler (ms)', better: 'lower' },
];

export interface SystemResult {
  system: SystemName;
  /** The options the system ran with. */
  settings: Record<string, unknown>;
  metrics: Record<string, number | null>;
  details: Record<string, unknown>;
  notes: string[];
}

export interface RunReport {
  startedAt: string;
  durationSeconds: number;
  machine: {
    cpus: number;
    cpuModel: string;
    memoryGb: number;
    node: string;
    postgres: string;
    platform: string;
  };
  flags: Record<string, unknown>;
  systems: SystemResult[];
  ratios: Record<string, Record<string, number | null>>;
  targets: Record<string, { target: string; value: number | null; met: boolean | null }>;
}

export function lagMetrics(prefix: string, summary: Summary): Record<string, number | null> {
  return {
    [`${prefix}P50`]: round(summary.p50),
    [`${prefix}P99`]: round(summary.p99),
    [`${prefix}Max`]: round(summary.max),
  };
}

/** Belfry value divided by the peer's, for every metric both have. */
export function ratios(systems: readonly SystemResult[]): Record<string, Record<string, number | null>> {
  const belfry = systems.find((s) => s.system === 'belfry');
  const out: Record<string, Record<string, number | null>> = {};
  if (!belfry) return out;
  for (const peer of systems.filter((s) => s.system !== 'belfry')) {
    const row: Record<string, number | null> = {};
    for (const metric of METRICS) {
      if (metric.belfryOnly) continue;
      const a = belfry.metrics[metric.key];
      const b = peer.metrics[metric.key];
      row[metric.key] =
        a === null || a === undefined || b === null || b === undefined || b === 0 ? null : round(a / b, 3);
    }
    out[peer.system] = row;
  }
  return out;
}

function format(value: number | null | undefined): string {
  if (value === null || value === undefined) return '–';
  if (Math.abs(value) >= 100) return String(Math.round(value));
  return String(round(value, 1));
}

function formatRatio(ratio: number | null | undefined, better: 'lower' | 'higher'): string {
  if (ratio === null || ratio === undefined) return '–';
  const good = better === 'lower' ? ratio < 1 : ratio > 1;
  const even = ratio === 1;
  const shown = ratio >= 100 || ratio < 0.01 ? ratio.toExponential(1) : String(round(ratio, 2));
  return `${shown}x${even ? '' : good ? ' better' : ' worse'}`;
}

/** The results table as Markdown (printed to the terminal and pasted into docs/benchmarks.md). */
export function renderTable(systems: readonly SystemResult[]): string {
  const order: SystemName[] = ['belfry', 'graphile-worker', 'pg-boss'];
  const present = order.filter((name) => systems.some((s) => s.system === name));
  const peers = present.filter((name) => name !== 'belfry');
  const byName = new Map(systems.map((s) => [s.system, s]));
  const ratio = ratios(systems);
  const header = [
    'metric',
    ...present,
    ...(present.includes('belfry') ? peers.map((p) => `Belfry/${p}`) : []),
  ];
  const lines = [
    `| ${header.join(' | ')} |`,
    `| ${header.map((_, i) => (i === 0 ? '---' : '---:')).join(' | ')} |`,
  ];
  for (const metric of METRICS) {
    const values = present.map((name) => byName.get(name)!.metrics[metric.key]);
    if (values.every((v) => v === null || v === undefined)) continue;
    const cells = [metric.label, ...values.map(format)];
    if (present.includes('belfry')) {
      for (const peer of peers)
        cells.push(metric.belfryOnly ? '' : formatRatio(ratio[peer]?.[metric.key], metric.better));
    }
    lines.push(`| ${cells.join(' | ')} |`);
  }
  return lines.join('\n');
}

export function writeJson(path: string, report: unknown): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(report, null, 2)}\n`);
}
