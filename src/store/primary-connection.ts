/**
 * Connections that reach only the writable primary of a replicated PostgreSQL (Patroni, a managed
 * service with standbys), from a libpq-style multi-host URL:
 *
 *   postgres://user:pass@db1:5432,db2:5432,db3:5432/app?target_session_attrs=read-write
 *
 * node-postgres connects to one host only, so the URL is split here: pg is given a one-host URL, and
 * each new connection picks its host itself (a `pg.Client` subclass the pool builds its clients with):
 *   - it connects to the host known to be the primary, and checks `pg_is_in_recovery()` before the
 *     connection is handed out: a standby is never written to;
 *   - when no host is known (the first connection, or after that host failed or turned out to be a
 *     standby), every host is asked at once on a short-lived connection and the first (in URL order)
 *     that is not in recovery becomes the known primary;
 *   - a connection that fails, or lands on a standby, fails with a connection error (NoPrimaryError when
 *     no host is writable). Callers already treat those as transient: the loops back off with jitter
 *     and try again, so a failover is ridden out by the next attempt, not by a restart.
 * `target_session_attrs` follows libpq: `read-write` and `primary` require the primary (the default with
 * several hosts), `any` takes the first host that answers (the default with one host: through HAProxy
 * routing by Patroni's `/primary` check, say). Other values ask for a standby, which Belfry never wants.
 */
import pg from 'pg';
import { NoPrimaryError } from './errors.js';

export interface HostPort {
  host: string;
  port: number;
}

export interface ConnectionTarget {
  /** A URL pg can parse: the first host, `target_session_attrs` removed. */
  url: string;
  hosts: HostPort[];
  /** Only a server that is not in recovery will do. */
  requirePrimary: boolean;
}

const URL_SHAPE = /^(postgres(?:ql)?:\/\/)([^@/?#]*@)?([^/?#]*)(\/[^?#]*)?(\?[^#]*)?$/;

/** Splits a connection string; one that is not a URL (key=value) is used as it is. */
export function parseConnectionTarget(connectionString: string): ConnectionTarget {
  const match = URL_SHAPE.exec(connectionString);
  if (!match) return { url: connectionString, hosts: [], requirePrimary: false };
  const [, scheme, auth = '', hostList = '', path = '', query = ''] = match;
  const params = new URLSearchParams(query.slice(1));
  const hosts = hostList
    .split(',')
    .filter(Boolean)
    .map((entry) => parseHost(entry, Number(params.get('port') ?? 5432)));
  const attrs = params.get('target_session_attrs');
  params.delete('target_session_attrs');
  if (attrs !== null && !['read-write', 'primary', 'any'].includes(attrs)) {
    throw new TypeError(
      `target_session_attrs=${attrs} asks for a standby; Belfry writes, so use read-write (or primary, or any)`,
    );
  }
  const requirePrimary = attrs === null ? hosts.length > 1 : attrs !== 'any';
  const rest = params.toString();
  const first = hosts[0] ? formatHost(hosts[0]) : '';
  return {
    url: `${scheme}${auth}${first}${path}${rest ? `?${rest}` : ''}`,
    hosts,
    requirePrimary,
  };
}

function parseHost(entry: string, defaultPort: number): HostPort {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry);
  if (bracketed) return { host: bracketed[1]!, port: Number(bracketed[2] ?? defaultPort) };
  const [host, port] = entry.split(':');
  return { host: decodeURIComponent(host!), port: Number(port ?? defaultPort) };
}

function formatHost({ host, port }: HostPort): string {
  return `${host.includes(':') ? `[${host}]` : encodeURIComponent(host)}:${port}`;
}

/** What every connection to one URL knows: which host was the primary last time. */
interface TargetState {
  target: ConnectionTarget;
  primary: number | undefined;
  searching: Promise<number> | undefined;
}

const states = new Map<string, TargetState>();

function stateFor(connectionString: string): TargetState {
  let state = states.get(connectionString);
  if (!state) {
    state = { target: parseConnectionTarget(connectionString), primary: undefined, searching: undefined };
    states.set(connectionString, state);
  }
  return state;
}

/**
 * What to give `pg.Pool` (or `pg.Client`) for a connection string: the one-host URL, and the client
 * class that picks the primary when the URL asks for one.
 */
export function connectionOptions(connectionString: string): {
  connectionString: string;
  Client: typeof pg.Client;
} {
  const state = stateFor(connectionString);
  if (state.target.hosts.length <= 1 && !state.target.requirePrimary) {
    return { connectionString: state.target.url, Client: pg.Client };
  }
  return { connectionString: state.target.url, Client: primaryClientClass(state) };
}

/** A single client for `connectionString` (the replica session, probes), primary-aware like the pool's. */
export function createClient(connectionString: string, config: pg.ClientConfig = {}): pg.Client {
  const { Client, connectionString: url } = connectionOptions(connectionString);
  return new Client({ ...config, connectionString: url });
}

function primaryClientClass(state: TargetState): typeof pg.Client {
  const { target } = state;
  class PrimaryClient extends pg.Client {
    readonly #config: pg.ClientConfig;

    constructor(config?: string | pg.ClientConfig) {
      super(config);
      this.#config = typeof config === 'string' ? { connectionString: config } : (config ?? {});
    }

    override connect(): Promise<pg.Client>;
    override connect(callback: ((err: Error) => void) | ((err: null, c: pg.Client) => void)): void;
    override connect(
      callback?: ((err: Error) => void) | ((err: null, c: pg.Client) => void),
    ): Promise<pg.Client> | void {
      const connecting = this.#connectToPrimary().then(() => this);
      if (!callback) return connecting;
      // pg-pool's callback takes (error) or (null, client); both shapes share the first argument.
      const done = callback as (err: Error | null, c?: pg.Client) => void;
      connecting.then(
        (client) => done(null, client),
        (error: Error) => done(error),
      );
    }

    async #connectToPrimary(): Promise<void> {
      const index = state.primary ?? (await findPrimary(state, this.#config));
      const chosen = target.hosts[index]!;
      // pg reads the host and port from these fields when it opens the socket.
      this.host = chosen.host;
      this.port = chosen.port;
      try {
        await super.connect();
      } catch (error) {
        if (state.primary === index) state.primary = undefined;
        throw error;
      }
      if (!target.requirePrimary) return;
      const { rows } = await super.query<{ recovery: boolean }>('SELECT pg_is_in_recovery() AS recovery');
      if (rows[0]?.recovery) {
        if (state.primary === index) state.primary = undefined;
        await this.end().catch(() => {});
        throw new NoPrimaryError(
          `${chosen.host}:${chosen.port} is a standby now (a failover or switchover); reconnecting to the new primary`,
        );
      }
    }
  }
  return PrimaryClient;
}

/** Asks every host at once; the first in URL order that is writable (or, with `any`, that answers) wins. */
function findPrimary(state: TargetState, config: pg.ClientConfig): Promise<number> {
  state.searching ??= (async () => {
    const { target } = state;
    const answers = await Promise.all(
      target.hosts.map((host) => probeHost(target.url, host, config, target.requirePrimary)),
    );
    const index = answers.findIndex((answer) => answer === 'usable');
    if (index < 0) {
      throw new NoPrimaryError(
        `no writable primary among ${target.hosts.map(formatHost).join(', ')} (${answers.join(', ')})`,
      );
    }
    state.primary = index;
    return index;
  })().finally(() => (state.searching = undefined));
  return state.searching;
}

async function probeHost(
  url: string,
  host: HostPort,
  config: pg.ClientConfig,
  requirePrimary: boolean,
): Promise<'usable' | 'standby' | 'unreachable'> {
  // The URL's fields win over host and port given beside it: set them on the client instead.
  const client = new pg.Client({
    connectionString: url,
    connectionTimeoutMillis: Math.min(config.connectionTimeoutMillis ?? 5_000, 5_000),
    application_name: 'belfry-primary-probe',
  });
  client.host = host.host;
  client.port = host.port;
  client.on('error', () => {});
  try {
    await client.connect();
    if (!requirePrimary) return 'usable';
    const { rows } = await client.query<{ recovery: boolean }>('SELECT pg_is_in_recovery() AS recovery');
    return rows[0]?.recovery ? 'standby' : 'usable';
  } catch {
    return 'unreachable';
  } finally {
    await client.end().catch(() => {});
  }
}
