/** Output helpers shared by the CLI commands: aligned tables, JSON and CSV. */

/**
 * For the long-running commands: when the reader of this process's output goes away (`npm start | tee
 * dev.log`, and the terminal's Ctrl-C ends tee too; `belfry dev | head`), a write fails with EPIPE,
 * which Node emits as an 'error' on process.stdout/stderr; unhandled, it ends the process at once, in the
 * middle of its graceful stop. From then on that stream's output is dropped, and `onStdoutGone` (once)
 * lets the command decide what a lost reader means (`belfry dev` stops its cluster gracefully).
 */
export function dropOutputWhenReaderGone(onStdoutGone?: () => void): void {
  process.stdout.once('error', () => onStdoutGone?.());
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => {});
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function formatTable(rows: Record<string, unknown>[], columns: string[]): string {
  const cell = (value: unknown) =>
    value instanceof Date ? value.toISOString() : value === null || value === undefined ? '' : String(value);
  const widths = columns.map((column) =>
    Math.max(column.length, ...rows.map((row) => cell(row[column]).length)),
  );
  const line = (values: string[]) =>
    values
      .map((value, i) => value.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [
    line(columns),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map((row) => line(columns.map((c) => cell(row[c])))),
  ].join('\n');
}

export function formatCsv(rows: Record<string, unknown>[], columns: string[]): string {
  const cell = (value: unknown) => {
    const text =
      value instanceof Date
        ? value.toISOString()
        : value === null || value === undefined
          ? ''
          : String(value);
    return /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
  };
  return [columns.join(','), ...rows.map((row) => columns.map((c) => cell(row[c])).join(','))].join('\n');
}
