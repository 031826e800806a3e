/**
 * What the connected server says about its replication: the settings that decide whether a commit
 * waits for a standby, and the standbys it streams to. Read by the scheduler at start, by the readiness
 * probe and by `belfry cluster`; src/store/replication-guarantee.ts turns it into the guarantee.
 *
 * `pg_stat_replication` shows every role how many standbys there are; lag and sync state need
 * pg_monitor (or a superuser), and read as null without it.
 */
import { sql } from 'kysely';
import { camelRow } from './camel-row.js';
import type { Executor } from './executor.js';

export interface ReplicationState {
  synchronousCommit: string;
  synchronousStandbyNames: string;
  inRecovery: boolean;
  /** Standbys streaming from this server now. */
  standbys: number;
  /** Of those, how many are synchronous (or quorum) candidates; null when not visible to this role. */
  synchronousStandbys: number | null;
  /** The largest replay lag of a streaming standby, in ms; null when unknown or none. */
  replayLagMs: number | null;
  /** PostgreSQL's wal_writer_delay in ms (what `synchronous_commit = off` may lose in a crash, times 3). */
  walWriterDelayMs: number;
}

export async function readReplicationState(ex: Executor): Promise<ReplicationState> {
  const { rows } = await sql<{
    synchronous_commit: string;
    synchronous_standby_names: string;
    in_recovery: boolean;
    standbys: number;
    synchronous_standbys: number | null;
    replay_lag_ms: number | null;
    wal_writer_delay_ms: number;
  }>`
    SELECT current_setting('synchronous_commit') AS synchronous_commit,
           current_setting('synchronous_standby_names') AS synchronous_standby_names,
           pg_is_in_recovery() AS in_recovery,
           r.standbys, r.synchronous_standbys, r.replay_lag_ms,
           (SELECT setting::int FROM pg_settings WHERE name = 'wal_writer_delay') AS wal_writer_delay_ms
      -- No standby streaming: none is synchronous (0, known), whatever this role may see.
      FROM (SELECT count(*)::int AS standbys,
                   CASE WHEN count(*) = 0 THEN 0
                        WHEN bool_and(sync_state IS NULL) THEN NULL
                        ELSE count(*) FILTER (WHERE sync_state IN ('sync', 'quorum'))::int END AS synchronous_standbys,
                   round(extract(epoch FROM max(replay_lag)) * 1000)::int AS replay_lag_ms
              FROM pg_stat_replication) r`.execute(ex.db);
  return camelRow(rows[0]!);
}
