/**
 * A benchmark's results as one Markdown table, a row per measure and a column per setting (e.g. N=0 and
 * N rows), and the timing of repeated reads (p50 / p95), with a cap for the slow ones: a read that passes
 * its statement timeout is reported as such, and a slow read is measured fewer times.
 */
import { percentile } from './stats.js';
import { monoMs } from './time.js';

export type Cell = number | string | null;

export interface MeasureColumn {
  label: string;
  cells: Record<string, Cell>;
}

export interface Timing {
  p50: number | null;
  p95: number | null;
  n: number;
  /** The read passed its statement timeout (ms): no sample. */
  timedOutMs?: number;
}

/** SQLSTATE 57014: canceled by statement_timeout. */
function isTimeout(error: unknown): boolean {
  return (error as { code?: string } | null)?.code === '57014';
}

/**
 * p50 / p95 of `runs` runs after two warm-ups. A read slower than 5 s gets one warm-up and as many runs
 * as fit in `budgetMs` (at least one); a read stopped by the statement timeout (`timeoutMs`, for the
 * report) is reported as timed out.
 */
export async function timeRuns(
  run: () => Promise<unknown>,
  options: { runs: number; budgetMs: number; timeoutMs: number },
): Promise<Timing> {
  const timed = async (): Promise<number | 'timeout'> => {
    const at = monoMs();
    try {
      await run();
    } catch (error) {
      if (isTimeout(error)) return 'timeout';
      throw error;
    }
    return monoMs() - at;
  };
  const warm = await timed();
  if (warm === 'timeout') return { p50: null, p95: null, n: 0, timedOutMs: options.timeoutMs };
  const slow = warm > 5_000;
  if (!slow && (await timed()) === 'timeout')
    return { p50: null, p95: null, n: 0, timedOutMs: options.timeoutMs };
  const samples: number[] = [];
  const started = monoMs();
  while (
    samples.length < options.runs &&
    (samples.length < (slow ? 1 : 3) || monoMs() - started < options.budgetMs)
  ) {
    const t = await timed();
    if (t === 'timeout') break;
    samples.push(t);
  }
  if (samples.length === 0) return { p50: null, p95: null, n: 0, timedOutMs: options.timeoutMs };
  const sorted = [...samples].sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p95: percentile(sorted, 95), n: samples.length };
}

export function formatNumber(value: number): string {
  if (Number.isInteger(value) || Math.abs(value) >= 100) return Math.round(value).toLocaleString('en-US');
  if (Math.abs(value) >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

/** "p50 / p95", "(n=…)" when fewer runs than asked, "> T s (timed out)". */
export function formatTiming(t: Timing, runs: number): string {
  if (t.timedOutMs !== undefined && t.n === 0) return `> ${t.timedOutMs / 1000} s (timed out)`;
  return `${formatNumber(t.p50!)} / ${formatNumber(t.p95!)}${t.n < runs ? ` (n=${t.n})` : ''}`;
}

export function formatMb(bytes: number): string {
  return `${Math.round(bytes / 1_048_576).toLocaleString('en-US')} MB`;
}

/** The table: `rows` in order ([key, label]), those no column has left out. */
export function renderMeasureTable(
  columns: readonly MeasureColumn[],
  rows: readonly [string, string][],
): string {
  const header = ['measure', ...columns.map((c) => c.label)];
  const lines = [
    `| ${header.join(' | ')} |`,
    `| ${header.map((_, i) => (i === 0 ? '---' : '---:')).join(' | ')} |`,
  ];
  for (const [key, label] of rows) {
    if (columns.every((c) => c.cells[key] === undefined)) continue;
    const values = columns.map((c) => {
      const v = c.cells[key];
      if (v === null || v === undefined) return '–';
      return typeof v === 'number' ? formatNumber(v) : v;
    });
    lines.push(`| ${label} | ${values.join(' | ')} |`);
  }
  return lines.join('\n');
}
