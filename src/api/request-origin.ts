/**
 * Which requests may reach the admin server at all, by where they say they are going and coming from.
 * Loopback is not a boundary for browsers: any web page can send a request to 127.0.0.1, and a page on
 * a rebound DNS name (evil.example resolving to 127.0.0.1) can even read the answers. So:
 *
 * - `Host` must name the server. On loopback, where a token is optional, that is always checked: the
 *   address it listens on, `localhost`, the loopback addresses and the names in
 *   BELFRY_HTTP_ALLOWED_HOSTS. Beyond loopback a token is required, which a rebinding page does not
 *   have (browsers never add it on their own), so Host is checked only when BELFRY_HTTP_ALLOWED_HOSTS
 *   lists names: then the listen address, IP literals (when listening on every interface), this host's
 *   name and the listed names pass. Unset, service names (`belfry-1:8080`) keep working as before.
 * - `Origin`, when a browser sends one, must be the server itself (same host and port as `Host`).
 *
 * Pure functions of the request's headers; admin-guard.ts applies them.
 */
import { BlockList, isIP } from 'node:net';

const loopback = new BlockList();
loopback.addSubnet('127.0.0.0', 8, 'ipv4');
loopback.addAddress('::1', 'ipv6');
// IPv4-mapped loopback (::ffff:127.0.0.1) is how a dual-stack socket reports a v4 loopback peer.
loopback.addSubnet('::ffff:127.0.0.0', 104, 'ipv6');

/** Whether `host` (an address or `localhost`, with or without IPv6 brackets) is a loopback address. */
export function isLoopbackAddress(host: string): boolean {
  const bare = unbracket(host.trim().toLowerCase());
  if (bare === 'localhost' || bare.endsWith('.localhost')) return true;
  const family = isIP(bare);
  if (family === 0) return false;
  return loopback.check(bare, family === 4 ? 'ipv4' : 'ipv6');
}

export interface HostPolicy {
  /** Names (lower-case, no port, no brackets) a request may address. */
  names: ReadonlySet<string>;
  /** Listening on every interface: any IP literal is acceptable too. */
  anyAddress: boolean;
  /** Beyond loopback with no names configured: Host is not checked. */
  anyHost: boolean;
}

export function hostPolicy(listenHost: string, extra: readonly string[], ownHostname: string): HostPolicy {
  const listen = unbracket(listenHost.trim().toLowerCase());
  const names = new Set(extra.map((name) => unbracket(name.trim().toLowerCase())).filter(Boolean));
  const anyAddress = listen === '0.0.0.0' || listen === '::' || listen === '';
  names.add(listen);
  if (isLoopbackAddress(listen) || anyAddress) {
    for (const name of ['localhost', '127.0.0.1', '::1']) names.add(name);
  }
  if (anyAddress) names.add(ownHostname.toLowerCase());
  return { names, anyAddress, anyHost: !isLoopbackAddress(listen) && extra.length === 0 };
}

/** The host name of a `Host` header or an origin's authority: lower-case, without port or brackets. */
export function hostnameOf(authority: string): string {
  const value = authority.trim().toLowerCase();
  if (value.startsWith('['))
    return value.slice(1, value.indexOf(']') === -1 ? undefined : value.indexOf(']'));
  const colons = value.split(':').length - 1;
  // One colon: host:port. More: a bare IPv6 address (invalid in Host, but judged by its value).
  return colons === 1 ? value.slice(0, value.indexOf(':')) : value;
}

export function hostAllowed(hostHeader: string | undefined, policy: HostPolicy): boolean {
  if (policy.anyHost) return true;
  if (!hostHeader) return false;
  const name = hostnameOf(hostHeader);
  if (policy.names.has(name)) return true;
  return policy.anyAddress && isIP(name) !== 0;
}

/** An `Origin` header is acceptable when absent or when it is this very server (scheme aside). */
export function originAllowed(origin: string | undefined, hostHeader: string | undefined): boolean {
  if (origin === undefined) return true;
  if (!hostHeader) return false;
  let parsed: URL;
  try {
    parsed = new URL(origin); // "null" (sandboxed pages, file:) fails here and is refused
  } catch {
    return false;
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return false;
  const defaultPort = parsed.protocol === 'https:' ? '443' : '80';
  const host = hostHeader.trim().toLowerCase();
  const withPort = /:\d+$/.test(host) && !host.endsWith(']') ? host : `${host}:${defaultPort}`;
  return `${parsed.hostname}:${parsed.port || defaultPort}` === withPort;
}

function unbracket(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}
