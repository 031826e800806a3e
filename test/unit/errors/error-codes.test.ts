/**
 * The error registry against docs/errors.md and the source: every code documented once with its
 * summary and status, no retired code reused, and every error class on the one base class.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { BelfryError } from '../../../src/errors/belfry-error.js';
import { ERROR_CODES, RETIRED_ERROR_CODES, type ErrorCode } from '../../../src/errors/error-codes.js';
import { ScheduleError } from '../../../src/time/schedule-error.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const docs = readFileSync(join(root, 'docs/errors.md'), 'utf8');
const codes = Object.keys(ERROR_CODES) as ErrorCode[];

/** The documented sections: `### CODE` headings and the text up to the next heading. */
function documentedSections(): Map<string, string> {
  const sections = new Map<string, string>();
  for (const part of docs.split(/^### /m).slice(1)) {
    const [heading, ...body] = part.split('\n');
    const code = heading!.trim();
    expect(sections.has(code), `${code} is documented twice`).toBe(false);
    sections.set(code, body.join('\n').split(/^## /m)[0]!);
  }
  return sections;
}

describe('error codes', () => {
  it('follow one format and never reuse a retired code', () => {
    for (const code of codes) expect(code).toMatch(/^BELFRY_ERR_[A-Z0-9_]+$/);
    expect(codes.filter((code) => code in RETIRED_ERROR_CODES)).toEqual([]);
  });

  it('are each documented in docs/errors.md with their summary and HTTP status', () => {
    const sections = documentedSections();
    expect([...sections.keys()].sort()).toEqual([...codes].sort());
    for (const code of codes) {
      const info: { summary: string; status?: number } = ERROR_CODES[code];
      const section = sections.get(code)!;
      expect(section, code).toContain(info.summary);
      if (info.status !== undefined) expect(section, code).toContain(`HTTP status: ${info.status}`);
      else expect(section, code).not.toContain('HTTP status:');
    }
  });

  it('list every retired code in the retired table of docs/errors.md', () => {
    const retired = docs.slice(docs.indexOf('## Retired codes'));
    for (const code of Object.keys(RETIRED_ERROR_CODES)) expect(retired).toContain(`| \`${code}\` |`);
    const rows = [...retired.matchAll(/^\| `([^`]+)` \|/gm)].map((match) => match[1]);
    expect(rows.sort()).toEqual(Object.keys(RETIRED_ERROR_CODES).sort());
  });
});

describe('BelfryError', () => {
  it('carries its code, its class name and the standard cause', () => {
    const cause = new Error('root');
    const error = new ScheduleError('bad cron', 'cron', { cause });
    expect(error).toBeInstanceOf(BelfryError);
    expect(error.code).toBe('BELFRY_ERR_BAD_SCHEDULE');
    expect(error.name).toBe('ScheduleError');
    expect(error.cause).toBe(cause);
    expect(String(error)).toBe('ScheduleError: bad cron');
  });

  it('withCode: a one-line class carries its fixed code, its own name and the cause', () => {
    class ExampleError extends BelfryError.withCode('BELFRY_ERR_USAGE') {}
    const cause = new Error('root');
    const error = new ExampleError('bad flag', { cause });
    expect(error).toBeInstanceOf(ExampleError);
    expect(error).toBeInstanceOf(BelfryError);
    expect(error.code).toBe('BELFRY_ERR_USAGE');
    expect(error.name).toBe('ExampleError');
    expect(error.message).toBe('bad flag');
    expect(error.cause).toBe(cause);
    expect(new ExampleError('no cause').cause).toBeUndefined();
  });

  it('is the base of every error class in src/', () => {
    // The base itself, and a private signal inside the cron parser that always becomes a ScheduleError.
    const exempt = new Set([
      'src/errors/belfry-error.ts: BelfryError',
      'src/time/cron-syntax.ts: FieldError',
    ]);
    const found: string[] = [];
    const walk = (dir: string): void => {
      for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
        const path = `${dir}/${entry.name}`;
        if (entry.isDirectory()) walk(path);
        else if (path.endsWith('.ts')) {
          const text = readFileSync(join(root, path), 'utf8');
          for (const match of text.matchAll(/class (\w+) extends (?:Error|TypeError|RangeError)\b/g))
            found.push(`${path}: ${match[1]}`);
        }
      }
    };
    walk('src');
    expect(found.filter((entry) => !exempt.has(entry))).toEqual([]);
  });
});
