/**
 * What a replica checks about its database before it joins the cluster, so that what cannot work is
 * refused at start with a clear message, never discovered under load:
 *   - the session URL (LISTEN and the instance's session advisory lock) must not go through a
 *     transaction pooler: refused with SessionPooledError;
 *   - the pool URL may: it is logged (Belfry's pooled statements keep nothing on the session);
 *   - the replication guarantee the server gives (replication-guarantee.ts) is read and logged.
 */
import type { Logger } from 'pino';
import { BelfryError } from '../errors/belfry-error.js';
import type { Executor } from '../store/executor.js';
import { isTransactionPooled } from '../store/pooler-probe.js';
import { createClient } from '../store/primary-connection.js';
import { readReplicationState } from '../store/replication-store.js';
import { replicationGuarantee, type ReplicationGuarantee } from '../store/replication-guarantee.js';

export class SessionPooledError extends BelfryError.withCode('BELFRY_ERR_SESSION_POOLED') {}

export interface DatabaseCheckOptions {
  executor: Executor;
  poolUrl: string;
  sessionUrl: string;
  logger: Logger;
}

export async function checkDatabaseAtStart(options: DatabaseCheckOptions): Promise<ReplicationGuarantee> {
  const { logger } = options;
  const pooled = (url: string) =>
    isTransactionPooled(async () => {
      const client = createClient(url, {
        application_name: 'belfry-pooler-probe',
        connectionTimeoutMillis: 10_000,
      });
      client.on('error', () => {});
      await client.connect();
      return client;
    });
  if (await pooled(options.sessionUrl)) {
    const separate = options.sessionUrl !== options.poolUrl;
    throw new SessionPooledError(
      `${separate ? 'BELFRY_SESSION_DATABASE_URL' : 'DATABASE_URL'} goes through a transaction pooler (PgBouncer pool_mode transaction or statement): the replica's session needs a session-level advisory lock and LISTEN, which such a pooler cannot keep. ${separate ? 'Point it' : 'Set BELFRY_SESSION_DATABASE_URL (library: sessionConnectionString)'} at PostgreSQL directly, at HAProxy, or at a session-mode pool; DATABASE_URL may stay on the transaction pool.`,
    );
  }
  if (options.poolUrl !== options.sessionUrl && (await pooled(options.poolUrl))) {
    logger.info('database pool goes through a transaction pooler; the session connects directly');
  }
  const guarantee = replicationGuarantee(await readReplicationState(options.executor));
  const log = guarantee.exactlyOnceAcrossFailover ? logger.info.bind(logger) : logger.warn.bind(logger);
  log(
    {
      replication: guarantee.mode,
      guarantee: guarantee.summary,
      refireWindowMs: guarantee.refireWindowMs,
      standbys: guarantee.standbys,
    },
    'replication guarantee',
  );
  return guarantee;
}
