/**
 * Every CLI failure as one line: what went wrong, where, and what to do. The stack is for `--verbose`.
 * Errors are recognised by their codes (SQLSTATE, Node's socket codes, Belfry's own), never by text.
 */
import { UnknownNameError } from '../operations/name-checks.js';
import { BelfryError } from '../errors/belfry-error.js';
import { classifyDatabaseError, sqlState } from '../store/errors.js';
import { redactSecretsInText } from './logger.js';

const CHECK_URL = 'check DATABASE_URL (or --database-url)';

export function describeFailure(error: unknown): string {
  return oneLine(describe(error));
}

/** The stack, with the causes' stacks, for --verbose. */
export function describeFailureVerbose(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current !== undefined && depth < 5; depth += 1) {
    parts.push(current instanceof Error ? (current.stack ?? current.message) : String(current));
    current = current instanceof Error ? current.cause : undefined;
  }
  return redactSecretsInText(parts.join('\ncaused by: '));
}

/** Credentials inside a driver's message (a connection string it quotes) never reach the terminal. */
function describe(error: unknown): string {
  if (!(error instanceof Error)) return redactSecretsInText(String(error));
  const message = redactSecretsInText(error.message);
  if (error instanceof UnknownNameError) {
    const list = error.kind === 'trigger' ? 'belfry triggers' : 'belfry triggers or belfry history';
    return `${message}: check the name and --schema (\`${list}\` shows what exists); nothing was changed`;
  }
  const fields = error as Error & { code?: unknown; address?: unknown; port?: unknown; hostname?: unknown };
  const state = sqlState(error);
  if (fields.code === 'ENOTFOUND' || fields.code === 'EAI_AGAIN') {
    return `cannot resolve the database host "${String(fields.hostname ?? '?')}": ${CHECK_URL}`;
  }
  if (fields.code === 'ECONNREFUSED') {
    const where = fields.address ? ` at ${String(fields.address)}:${String(fields.port ?? '')}` : '';
    return `cannot reach PostgreSQL${where} (connection refused): is the server running? ${CHECK_URL}`;
  }
  if (state === '28P01' || state === '28000') {
    return `PostgreSQL refused the login (${message}): check the user and password in DATABASE_URL`;
  }
  if (state === '3D000') return `${message}: create it, or ${CHECK_URL}`;
  if (state === '42P01' || state === '3F000') {
    return `${message}: the Belfry schema is missing or not migrated; run \`belfry migrate\` (or check --schema)`;
  }
  if (classifyDatabaseError(error) === 'connection' || classifyDatabaseError(error) === 'timeout') {
    return `cannot reach PostgreSQL (${message}): is the server running? ${CHECK_URL}`;
  }
  // Belfry's own errors say what to do; anything else is unexpected, and its stack is the lead.
  if (error instanceof BelfryError) return message;
  return `${message || error.name} (--verbose shows the stack)`;
}

/** Multi-line messages (a list of settings errors) joined into one line. */
function oneLine(text: string): string {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .join('; ');
}

/**
 * A DATABASE_URL that is neither a URL nor a libpq key=value string is reported before the driver
 * misreads it (it takes `not a url` for a host named `base`).
 */
export function checkDatabaseUrl(url: string, source: string): string | undefined {
  const expected = 'expected a URL like postgres://user@host:5432/database';
  if (/^\s*[a-z_]+\s*=/i.test(url) || url.startsWith('/')) return undefined; // key=value, socket dir
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return `${source} is not a PostgreSQL URL; ${expected}`;
  }
  if (!['postgres:', 'postgresql:', 'socket:'].includes(parsed.protocol)) {
    return `${source} has the scheme "${parsed.protocol}"; ${expected}`;
  }
  return undefined;
}
