/**
 * Results of a run: one cell per system × column, rendered as a Markdown table (a row per metric, the
 * defaults columns first, then the tuned ones), the settings of every column under it, and Belfry's
 * ratio to each peer in the same column. Written as JSON with the full details too.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Column, SystemName } from '../systems/system.js';
import { round } from './stats.js';

export interface MetricSpec {
  key: string;
  label: string;
  better: 'lower' | 'higher';
}

/** The table's rows, in order. */
export const METRICS: readonly MetricSpec[] = [
  { key: 'drain.startPerSec', label: 'drain: started/s (commit → last handler start)', better: 'higher' },
  { key: 'drain.completePerSec', label: 'drain: completed/s (commit → all finished)', better: 'higher' },
  { key: 'herd.allStartedMs', label: 'herd: last start after the due second (ms)', better: 'lower' },
  { key: 'herd.lagP50', label: 'herd: lag p50 (ms)', better: 'lower' },
  { key: 'herd.lagP99', label: 'herd: lag p99 (ms)', better: 'lower' },
  { key: 'addToStart.p50', label: 'add-to-start at idle p50 (ms)', better: 'lower' },
  { key: 'addToStart.p99', label: 'add-to-start at idle p99 (ms)', better: 'lower' },
  { key: 'steady.lagP50', label: 'steady load: lag p50 (ms)', better: 'lower' },
  { key: 'steady.lagP99', label: 'steady load: lag p99 (ms)', better: 'lower' },
  { key: 'steady.lagMax', label: 'steady load: lag max (ms)', better: 'lower' },
  { key: 'idle.txnPerSecPerProcess', label: 'idle: transactions/s per process', better: 'lower' },
];

export const SYSTEM_ORDER: readonly SystemName[] = ['belfry', 'graphile-worker', 'pg-boss'];

export interface CellResult {
  system: SystemName;
  column: Column;
  /** The options the system ran with in this column. */
  settings: Record<string, unknown>;
  metrics: Record<string, number | null>;
  /** Metrics whose value is only a lower bound (jobs still waiting at a workload's time limit). */
  lowerBounds: string[];
  /** Per workload. */
  details: Record<string, unknown>;
  notes: string[];
}

export interface RunReport {
  startedAt: string;
  durationSeconds: number;
  machine: Record<string, unknown>;
  sizes: Record<string, unknown>;
  cells: CellResult[];
  /** Belfry ÷ peer, same column, per metric: ratios[peer][column][metric]. */
  ratios: Record<string, Record<string, Record<string, number | null>>>;
  targets: Record<string, { target: string; value: number | null; met: boolean | null }>;
}

function format(value: number | null | undefined): string {
  if (value === null || value === undefined) return '–';
  if (Math.abs(value) >= 100) return Math.round(value).toLocaleString('en-US');
  return String(round(value, 1));
}

/** Cells in table order: every system's defaults, then every system's tuned column. */
export function orderCells(cells: readonly CellResult[]): CellResult[] {
  const columns: Column[] = ['defaults', 'tuned'];
  return columns.flatMap((column) =>
    SYSTEM_ORDER.flatMap((system) => cells.filter((c) => c.system === system && c.column === column)),
  );
}

export function ratios(cells: readonly CellResult[]): RunReport['ratios'] {
  const out: RunReport['ratios'] = {};
  for (const peer of cells.filter((c) => c.system !== 'belfry')) {
    const belfry = cells.find((c) => c.system === 'belfry' && c.column === peer.column);
    if (!belfry) continue;
    const row: Record<string, number | null> = {};
    for (const { key } of METRICS) {
      const a = belfry.metrics[key];
      const b = peer.metrics[key];
      // A lower bound makes the ratio a bound too: left out rather than shown as a number.
      const bounded = belfry.lowerBounds.includes(key) || peer.lowerBounds.includes(key);
      row[key] = a == null || b == null || b === 0 || bounded ? null : Number((a / b).toPrecision(2));
    }
    (out[peer.system] ??= {})[peer.column] = row;
  }
  return out;
}

function formatRatio(ratio: number | null | undefined, better: 'lower' | 'higher'): string {
  if (ratio === null || ratio === undefined) return '–';
  if (ratio === 1) return '1x';
  const good = better === 'lower' ? ratio < 1 : ratio > 1;
  const shown = ratio >= 10_000 || ratio < 0.0001 ? ratio.toExponential(1) : String(ratio);
  return `${shown}x ${good ? 'better' : 'worse'}`;
}

function settingsText(settings: Record<string, unknown>): string {
  return Object.entries(settings)
    .map(([key, value]) => `${key}: ${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join('; ');
}

/** The docs-ready Markdown: the results table, the settings per column, the ratios, the notes. */
export function renderMarkdown(cells: readonly CellResult[]): string {
  const ordered = orderCells(cells);
  const header = ['metric', ...ordered.map((c) => `${c.system} ${c.column}`)];
  const lines = [
    `| ${header.join(' | ')} |`,
    `| ${header.map((_, i) => (i === 0 ? '---' : '---:')).join(' | ')} |`,
  ];
  for (const metric of METRICS) {
    const values = ordered.map((c) => c.metrics[metric.key]);
    if (values.every((v) => v === null || v === undefined)) continue;
    const shown = ordered.map((c, i) =>
      c.lowerBounds.includes(metric.key) ? `>${format(values[i])}` : format(values[i]),
    );
    lines.push(`| ${[metric.label, ...shown].join(' | ')} |`);
  }
  lines.push('', 'Settings:', '');
  for (const c of ordered) lines.push(`- **${c.system} ${c.column}**: ${settingsText(c.settings)}`);

  const r = ratios(cells);
  const pairs = ordered.filter((c) => c.system !== 'belfry' && r[c.system]?.[c.column]);
  if (pairs.length > 0) {
    const head = ['Belfry ÷ peer, same column', ...pairs.map((c) => `${c.system} ${c.column}`)];
    lines.push(
      '',
      `| ${head.join(' | ')} |`,
      `| ${head.map((_, i) => (i === 0 ? '---' : '---:')).join(' | ')} |`,
    );
    for (const metric of METRICS) {
      const cellsOfRow = pairs.map((c) => formatRatio(r[c.system]![c.column]![metric.key], metric.better));
      if (cellsOfRow.every((v) => v === '–')) continue;
      lines.push(`| ${[metric.label, ...cellsOfRow].join(' | ')} |`);
    }
  }
  if (ordered.some((c) => c.lowerBounds.length > 0))
    lines.push('', '`>x`: jobs were still waiting at the time limit, so the true value is at least x.');
  const notes = ordered.flatMap((c) => c.notes.map((n) => `- ${c.system} ${c.column}: ${n}`));
  if (notes.length > 0) lines.push('', 'Notes:', '', ...notes);
  return lines.join('\n');
}

export function writeFile(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
}

export function writeJson(path: string, report: unknown): void {
  writeFile(path, `${JSON.stringify(report, null, 2)}\n`);
}
