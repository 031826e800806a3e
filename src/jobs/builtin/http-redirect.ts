/**
 * Where an `http` job goes after a 3xx answer, by its redirect policy. Pure: the request and the
 * response in, the next request (or a refusal) out.
 *
 * - `same-origin` (default): follow only within the request's origin (scheme, host and port);
 * - `any`: follow anywhere, but headers from secret references, Authorization and Cookie stay behind
 *   when the origin changes or the scheme goes from https to http;
 * - `none`: never follow; the 3xx is the answer (and fails the job, as any non-2xx does).
 *
 * Methods change as browsers do: 303 turns anything but HEAD into GET, 301 and 302 turn POST into GET;
 * the body goes with the method.
 */
export const REDIRECT_POLICIES = ['same-origin', 'any', 'none'] as const;
export type RedirectPolicy = (typeof REDIRECT_POLICIES)[number];

export interface HopRequest {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: string | undefined;
}

export type Hop =
  { kind: 'final' } | { kind: 'follow'; request: HopRequest } | { kind: 'refused'; reason: string };

/** Always withheld from another origin, whatever their source. */
const CREDENTIAL_HEADERS = ['authorization', 'cookie', 'proxy-authorization'];

export function nextHop(
  request: HopRequest,
  response: { status: number; headers: Headers },
  options: { policy: RedirectPolicy; secretHeaders: readonly string[] },
): Hop {
  const location = response.headers.get('location');
  if (![301, 302, 303, 307, 308].includes(response.status) || !location || options.policy === 'none')
    return { kind: 'final' };
  let from: URL;
  let to: URL;
  try {
    from = new URL(request.url);
    to = new URL(location, from);
  } catch {
    return { kind: 'refused', reason: `answered ${response.status} with an invalid Location` };
  }
  if (to.protocol !== 'http:' && to.protocol !== 'https:')
    return { kind: 'refused', reason: `redirected to a ${to.protocol} URL` };
  const sameOrigin = to.origin === from.origin;
  if (!sameOrigin && options.policy === 'same-origin') {
    return {
      kind: 'refused',
      reason: `answered ${response.status}, a redirect to another origin (${to.origin}); set redirects: any to follow it`,
    };
  }
  const downgrade = from.protocol === 'https:' && to.protocol === 'http:';
  const withheld = new Set(sameOrigin && !downgrade ? [] : [...CREDENTIAL_HEADERS, ...options.secretHeaders]);
  const toGet =
    (response.status === 303 && request.method !== 'HEAD') ||
    ((response.status === 301 || response.status === 302) && request.method === 'POST');
  const headers = Object.fromEntries(
    Object.entries(request.headers).filter(
      ([name]) => !withheld.has(name.toLowerCase()) && !(toGet && name.toLowerCase() === 'content-type'),
    ),
  );
  return {
    kind: 'follow',
    request: {
      url: to.href,
      method: toGet ? 'GET' : request.method,
      headers,
      body: toGet ? undefined : request.body,
    },
  };
}
