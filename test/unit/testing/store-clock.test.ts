/**
 * Decision 0008: store SQL reads time through the schema's clock (dbNow(ex) / dbClock(ex), i.e.
 * belfry_now() / belfry_clock()), never now() or clock_timestamp() itself; otherwise the testing kit's
 * cluster would judge that statement by the real clock. Migrations after 0010 use belfry_now() in defaults.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
/** The clock's own definitions, and the migrator's bookkeeping table (not Belfry time). */
const ALLOWED = new Set(['executor.ts', 'test-clock-store.ts', 'migrator.ts']);
const RAW_TIME =
  /(?<![\w.$])(now|clock_timestamp|statement_timestamp|transaction_timestamp)\(\)|current_timestamp/i;

/** Code lines only: comments may name now() to explain. */
function codeLines(text: string): { line: number; code: string }[] {
  return text
    .split('\n')
    .map((code, i) => ({ line: i + 1, code }))
    .filter(({ code }) => !/^\s*(\*|\/\/|\/\*|--)/.test(code))
    .map(({ line, code }) => ({ line, code: code.replace(/\s--\s.*$/, '').replace(/\s\/\/\s.*$/, '') }));
}

describe('the store reads time through the schema clock', () => {
  it('names no now() or clock_timestamp() in src/store/ SQL', () => {
    const dir = join(ROOT, 'src/store');
    const offenders = readdirSync(dir)
      .filter((file) => file.endsWith('.ts') && !ALLOWED.has(file))
      .flatMap((file) =>
        codeLines(readFileSync(join(dir, file), 'utf8'))
          .filter(({ code }) => RAW_TIME.test(code))
          .map(({ line, code }) => `src/store/${file}:${line}: ${code.trim()}`),
      );
    expect(offenders).toEqual([]);
  });

  it('uses belfry_now() in the migrations that come after 0010', () => {
    const dir = join(ROOT, 'migrations');
    const offenders = readdirSync(dir)
      .filter((file) => /^\d{4}_.*\.sql$/.test(file) && Number(file.slice(0, 4)) > 10)
      .flatMap((file) =>
        codeLines(readFileSync(join(dir, file), 'utf8'))
          .filter(({ code }) => RAW_TIME.test(code))
          .map(({ line, code }) => `migrations/${file}:${line}: ${code.trim()}`),
      );
    expect(offenders).toEqual([]);
  });
});
