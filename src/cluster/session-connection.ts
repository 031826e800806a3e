/**
 * The replica's one long-lived PostgreSQL session: it LISTENs on the change channel and holds the
 * instance's session-level advisory lock.
 *
 * The lock is how the leader sees a crash for free: when a replica dies, PostgreSQL ends its session
 * and releases the lock at once, with no extra check-in traffic. Check-ins still catch a replica that is
 * alive but stalled. Behind a transaction-mode pooler (PgBouncer) neither LISTEN nor session locks work:
 * point `sessionConnectionString` at the server directly; without it, crash detection falls back to
 * check-in age alone (see docs/operations.md).
 *
 * When the connection drops it reconnects with jittered backoff, takes the lock again and re-LISTENs;
 * `onReconnected` is called only after LISTEN is back, so the scheduler can check whether it was declared
 * dead meanwhile and re-read what the NOTIFYs sent during the outage would have told it (they are lost:
 * PostgreSQL delivers a notification only to sessions listening when it commits). Anything that changes
 * after LISTEN is notified again; anything before it is covered by that re-read.
 */
import type pg from 'pg';
import type { Logger } from 'pino';
import { backoffDelay } from '../time/backoff.js';
import { listenForChanges, lockSession, unlockSession } from '../store/session-store.js';
import { createClient } from '../store/primary-connection.js';
import type { Clock } from '../time/clock.js';

export interface SessionConnectionOptions {
  connectionString: string;
  schema: string;
  lockNamespace: number;
  clock: Clock;
  logger: Logger;
  applicationName?: string;
  onNotify: (payload: string) => void;
  onLost: (error: unknown) => void;
  onReconnected: () => void;
  /** The reconnect backoff's jitter; default Math.random. */
  random?: () => number;
}

export class SessionConnection {
  #client: pg.Client | undefined;
  #lockKey: number | undefined;
  #closed = false;
  #reconnecting: Promise<void> | undefined;
  readonly #stop = new AbortController();

  constructor(private readonly options: SessionConnectionOptions) {}

  get connected(): boolean {
    return this.#client !== undefined;
  }

  /** Opens the session and takes the lock for `lockKey` (blocking only if another session holds it). */
  async open(lockKey: number): Promise<void> {
    // A step that outlived stop()'s deadline (a check-in that then re-registers) must not open a session
    // nobody will close: it would hold a lock, and keep the process alive.
    if (this.#closed) throw new Error('session connection is closed');
    if (this.#client) return this.relock(lockKey);
    this.#lockKey = lockKey;
    // Never a second connection beside a reconnect under way (it would hold a lock nobody frees): the
    // reconnect takes this key, and the caller tries again once the session is back.
    if (this.#reconnecting) throw new Error('session connection is reconnecting');
    await this.#connect();
  }

  /** Moves the session's lock to a new key (after re-registering as a new instance). */
  async relock(lockKey: number): Promise<void> {
    const client = this.#client;
    const old = this.#lockKey;
    this.#lockKey = lockKey;
    if (!client) return;
    await lockSession(client, { namespace: this.options.lockNamespace, key: lockKey });
    if (old !== undefined && old !== lockKey) {
      await unlockSession(client, { namespace: this.options.lockNamespace, key: old }).catch(() => {});
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#stop.abort();
    const client = this.#client;
    this.#client = undefined;
    if (client) await client.end().catch(() => {});
    await this.#reconnecting?.catch(() => {});
  }

  async #connect(): Promise<void> {
    // Primary-aware: with a multi-host URL the session, too, only ever opens on the writable primary.
    const client = createClient(this.options.connectionString, {
      application_name: this.options.applicationName ?? 'belfry-session',
      connectionTimeoutMillis: 10_000,
      keepAlive: true,
    });
    client.on('notification', (message) => this.options.onNotify(message.payload ?? ''));
    client.on('error', (error) => this.#lost(client, error));
    client.on('end', () => this.#lost(client, new Error('session connection ended')));
    try {
      await client.connect();
      if (this.#lockKey !== undefined) {
        await lockSession(client, { namespace: this.options.lockNamespace, key: this.#lockKey });
      }
      await listenForChanges(client, this.options.schema);
    } catch (error) {
      client.removeAllListeners('end');
      await client.end().catch(() => {});
      throw error;
    }
    this.#client = client;
  }

  #lost(client: pg.Client, error: unknown): void {
    if (this.#client !== client || this.#closed) return;
    this.#client = undefined;
    client.removeAllListeners('end');
    client.end().catch(() => {});
    this.options.logger.warn({ err: error }, 'session connection lost; reconnecting');
    this.options.onLost(error);
    this.#reconnecting ??= this.#reconnect().finally(() => (this.#reconnecting = undefined));
  }

  async #reconnect(): Promise<void> {
    for (let attempt = 1; !this.#closed; attempt += 1) {
      // Capped at 1 s: the leader judges a session gone for `sessionGraceMs` as a crash (unless the
      // replica checked in meanwhile), and that grace is 2 s by default.
      const delay = backoffDelay(
        { attempt, initialMs: 100, maxMs: 1_000, jitter: 'full' },
        this.options.random,
      );
      await this.options.clock.sleep(delay, this.#stop.signal);
      if (this.#closed) return;
      try {
        await this.#connect();
        this.options.logger.info({ attempt }, 'session connection restored');
        this.options.onReconnected();
        return;
      } catch (error) {
        this.options.logger.debug({ err: error, attempt }, 'session reconnect failed');
      }
    }
  }
}
