/**
 * Values that may be secrets: a literal, `{ env: NAME }` or `{ file: PATH }`. References are what gets
 * stored and shown (in the database, in plans, in logs); the value itself is read only when a job runs,
 * from sources the caller injects, and never logged.
 */
import { readFile } from 'node:fs/promises';
import { BelfryError } from '../../errors/belfry-error.js';

export type SecretValue = string | { env: string } | { file: string };

export interface SecretSources {
  /** Environment to read `{ env }` references from (the entry point passes process.env). */
  env: Readonly<Record<string, string | undefined>>;
  /** Reads a `{ file }` reference; default: the file's text with one trailing newline removed. */
  readFile?: (path: string) => Promise<string>;
}

export class SecretError extends BelfryError.withCode('BELFRY_ERR_SECRET_UNAVAILABLE') {}

/** Names that must never carry a clear-text value (headers, environment variables). */
const SECRET_NAME =
  /authorization|token|secret|password|passwd|api[-_]?key|cookie|credential|private[-_]?key/i;

export function looksLikeSecretName(name: string): boolean {
  return SECRET_NAME.test(name);
}

/** How a value is shown: literals as they are, references by what they point at (never the secret). */
export function describeSecretValue(value: SecretValue): string {
  if (typeof value === 'string') return value;
  return 'env' in value ? `{env: ${value.env}}` : `{file: ${value.file}}`;
}

export async function resolveSecretValue(value: SecretValue, sources: SecretSources): Promise<string> {
  if (typeof value === 'string') return value;
  if ('env' in value) {
    const resolved = sources.env[value.env];
    if (resolved === undefined) throw new SecretError(`environment variable ${value.env} is not set`);
    return resolved;
  }
  try {
    const read = sources.readFile ?? ((path: string) => readFile(path, 'utf8'));
    return (await read(value.file)).replace(/\r?\n$/, '');
  } catch (error) {
    throw new SecretError(
      `secret file ${value.file} could not be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
}

export async function resolveSecretMap(
  values: Readonly<Record<string, SecretValue>> | undefined,
  sources: SecretSources,
): Promise<Record<string, string>> {
  const entries = await Promise.all(
    Object.entries(values ?? {}).map(
      async ([name, value]) => [name, await resolveSecretValue(value, sources)] as const,
    ),
  );
  return Object.fromEntries(entries);
}

export const REDACTED = '[redacted]';
/** Shorter values are not searched for: redacting every "1" or "yes" would garble the text, not protect it. */
const MIN_REDACTED_LENGTH = 4;

/**
 * Replaces every occurrence of the given resolved secret values (as is, and percent-encoded as they
 * appear in URLs) with `[redacted]`. Applied to whatever a built-in job writes where people read it:
 * output tails stored in the history, error messages, log lines.
 */
export function secretRedactor(values: readonly string[]): (text: string) => string {
  const needles = [
    ...new Set(values.flatMap((value) => [value, encodeURIComponent(value), encodeURI(value)])),
  ]
    .filter((value) => value.length >= MIN_REDACTED_LENGTH)
    // Longest first, so a secret that contains another is replaced whole.
    .sort((a, b) => b.length - a.length);
  if (needles.length === 0) return (text) => text;
  return (text) => needles.reduce((result, needle) => result.split(needle).join(REDACTED), text);
}
