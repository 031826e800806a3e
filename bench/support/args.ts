/** Command-line flags shared by the bench entry points (node:util parseArgs, `--name value`). */
import { parseArgs, type ParseArgsConfig } from 'node:util';

export type FlagSpec = NonNullable<ParseArgsConfig['options']>;

export type Flags = Record<string, string | boolean | (string | boolean)[] | undefined>;

export function parseFlags(spec: FlagSpec, argv = process.argv.slice(2)): Flags {
  return parseArgs({ args: argv, options: spec, allowPositionals: false, strict: true }).values as Flags;
}

export function stringFlag(value: Flags[string]): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

export function intFlag(
  value: string | boolean | undefined | (string | boolean)[],
  fallback: number,
): number {
  if (value === undefined || typeof value === 'boolean' || Array.isArray(value)) return fallback;
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed < 0) throw new Error(`not a number: ${value}`);
  return Math.trunc(parsed);
}
