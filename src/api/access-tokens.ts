/**
 * Bearer tokens and what they may do. Two scopes:
 * - `read`: GET and HEAD only (scrapes of /metrics, the dashboard, `GET /api/v1/...`);
 * - `admin`: everything.
 * BELFRY_HTTP_TOKEN is the admin token (as it always was), BELFRY_HTTP_READ_TOKEN the read-only one.
 * The token's name is who the audit trail says made a change.
 *
 * Tokens are compared by their SHA-256 digests with timingSafeEqual, against every configured token
 * (no early exit), so neither the length nor the match position leaks through timing.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

export type Scope = 'read' | 'admin';

export interface AccessToken {
  name: string;
  scope: Scope;
  secret: string;
}

/** Who a request acts as: a token's name, or `anonymous` (probes; every route when no token is set). */
export interface Principal {
  name: string;
  scope: Scope;
  /** Whether a valid token was presented (anonymous requests are rate-limited). */
  authenticated: boolean;
}

export const ANONYMOUS_NAME = 'anonymous';

export function tokensFromSettings(settings: { admin?: string; read?: string }): AccessToken[] {
  return [
    ...(settings.admin ? [{ name: 'admin', scope: 'admin' as const, secret: settings.admin }] : []),
    ...(settings.read ? [{ name: 'read-only', scope: 'read' as const, secret: settings.read }] : []),
  ];
}

/** The token in an `Authorization` header; the scheme is case-insensitive (RFC 9110). */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^bearer[ \t]+(\S+)[ \t]*$/i.exec(header ?? '');
  return match?.[1];
}

export class AccessTokens {
  readonly #tokens: { name: string; scope: Scope; digest: Buffer }[];

  constructor(tokens: readonly AccessToken[]) {
    this.#tokens = tokens.map(({ name, scope, secret }) => ({ name, scope, digest: digest(secret) }));
  }

  get configured(): boolean {
    return this.#tokens.length > 0;
  }

  /** The principal a token stands for, or undefined when it matches none. */
  authenticate(given: string): Principal | undefined {
    const candidate = digest(given);
    let found: Principal | undefined;
    for (const token of this.#tokens) {
      if (timingSafeEqual(candidate, token.digest) && !found)
        found = { name: token.name, scope: token.scope, authenticated: true };
    }
    return found;
  }
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}
