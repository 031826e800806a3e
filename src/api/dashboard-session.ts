/**
 * How a browser authenticates to the admin server. A page cannot attach an `Authorization` header to
 * its navigations, images or EventSource, so the dashboard logs in once and the server keeps the token
 * in a cookie the page's scripts cannot read:
 *
 *   GET /ui/session  with `Authorization: Bearer <token>`  →  Set-Cookie: belfry_token=<token>;
 *       HttpOnly; SameSite=Strict; Path=/; Max-Age=43200 (and Secure over HTTPS)
 *
 * The guard (admin-guard.ts) then accepts that cookie wherever it accepts a bearer token, and every other
 * rule stays as it is: Host and Origin must name this server, state changes need the admin scope and
 * `application/json`. SameSite=Strict keeps the cookie off every cross-site request, so a page elsewhere
 * can neither read nor act with it; the Origin and content-type checks stop it even if a browser sent it.
 * Login is a GET carrying the token in a header, which a cross-site page cannot send (no CORS here), so
 * nobody can log a victim's browser in as themselves. The token itself is the cookie, so every replica
 * with the same tokens accepts it (a load balancer may send each request elsewhere), and rotating the
 * token logs every browser out.
 *
 * The dashboard's shell (its HTML, scripts and styles, which carry no data) is served without a token,
 * so a browser can show the login form; everything it shows comes from the API, behind the token.
 */
export const SESSION_COOKIE = 'belfry_token';
export const SESSION_MAX_AGE_S = 12 * 60 * 60;

/** The dashboard's URL prefix. `/` redirects to it. */
export const DASHBOARD_PREFIX = '/ui';
/** Paths under the prefix that are not the shell: they need a token like the API. */
const DASHBOARD_DATA_PATHS = ['/ui/session', '/ui/events'];
/** The dashboard's own data endpoints (not part of the REST API), behind the token too. */
export const DASHBOARD_DATA_PREFIX = '/ui/api/';

/** Whether a request asks for the dashboard's shell (public: it carries no data). */
export function isDashboardShell(method: string, path: string): boolean {
  if (method !== 'GET' && method !== 'HEAD') return false;
  if (DASHBOARD_DATA_PATHS.includes(path) || path.startsWith(DASHBOARD_DATA_PREFIX)) return false;
  return path === '/' || path === DASHBOARD_PREFIX || path.startsWith(`${DASHBOARD_PREFIX}/`);
}

/** The token in the session cookie, if the request carries one. */
export function sessionToken(cookieHeader: string | undefined): string | undefined {
  if (!cookieHeader) return undefined;
  for (const part of cookieHeader.split(';')) {
    const index = part.indexOf('=');
    if (index === -1 || part.slice(0, index).trim() !== SESSION_COOKIE) continue;
    try {
      const value = decodeURIComponent(part.slice(index + 1).trim());
      return value === '' ? undefined : value;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** The Set-Cookie value that logs a browser in (token) or out (null). */
export function sessionCookie(token: string | null, secure: boolean): string {
  const attributes = ['HttpOnly', 'SameSite=Strict', 'Path=/', ...(secure ? ['Secure'] : [])];
  if (token === null) return [`${SESSION_COOKIE}=`, 'Max-Age=0', ...attributes].join('; ');
  return [
    `${SESSION_COOKIE}=${encodeURIComponent(token)}`,
    `Max-Age=${SESSION_MAX_AGE_S}`,
    ...attributes,
  ].join('; ');
}
