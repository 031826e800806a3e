/**
 * What Belfry's exactly-once promise is worth across a PostgreSQL failover, from the server's own
 * replication settings (pure; src/store/replication-store.ts reads them).
 *
 * A fire is committed (fire row + the trigger's next fire time, one transaction) before its job runs.
 * A failover promotes a standby; whatever the old primary committed that the standby had not received
 * is gone from the new primary's history, and the trigger's next fire time with it: those fires are
 * due again and fire a second time. So:
 *   - synchronous: `synchronous_standby_names` names standbys and `synchronous_commit` is on,
 *     remote_write or remote_apply: a commit returns only once a synchronous standby has it, and an HA
 *     manager that promotes only a synchronous standby (Patroni's synchronous_mode) loses no fire:
 *     exactly-once across failover;
 *   - asynchronous: standbys stream but commits do not wait: a failover may re-fire the fires committed
 *     in the last replication lag before the crash (Patroni bounds the lag it promotes with by
 *     maximum_lag_on_failover). Each re-fire carries the same idempotency key (trigger + scheduled time)
 *     as the lost one, so a job that records its key sees it, and `belfry audit --run-log` reports it;
 *   - no standby: nothing to fail over to; a crash of this server loses nothing committed, unless
 *     `synchronous_commit = off` (then up to 3 × wal_writer_delay of commits, which fire again).
 */
import type { ReplicationState } from './replication-store.js';

export type ReplicationMode = 'synchronous' | 'asynchronous' | 'no-standby';

export interface ReplicationGuarantee {
  mode: ReplicationMode;
  /** No fire can fire twice because of a failover (or a crash) of the database. */
  exactlyOnceAcrossFailover: boolean;
  /**
   * How far back (ms) fires may be re-fired after a failover or crash: the replication lag measured at
   * the last check (async), 3 × wal_writer_delay (synchronous_commit = off), 0 when none; null when the
   * lag is not visible to this role.
   */
  refireWindowMs: number | null;
  synchronousCommit: string;
  synchronousStandbyNames: string;
  standbys: number;
  /** One line for logs, `belfry cluster` and /readyz. */
  summary: string;
}

const WAITS_FOR_STANDBY = new Set(['on', 'remote_write', 'remote_apply']);

export function replicationGuarantee(state: ReplicationState): ReplicationGuarantee {
  const base = {
    synchronousCommit: state.synchronousCommit,
    synchronousStandbyNames: state.synchronousStandbyNames,
    standbys: state.standbys,
  };
  const commitOff = state.synchronousCommit === 'off';
  const crashWindowMs = commitOff ? 3 * state.walWriterDelayMs : 0;
  if (state.synchronousStandbyNames.trim() !== '' && WAITS_FOR_STANDBY.has(state.synchronousCommit)) {
    return {
      ...base,
      mode: 'synchronous',
      exactlyOnceAcrossFailover: true,
      refireWindowMs: 0,
      summary: `exactly-once across failover: each fire commits on a synchronous standby (synchronous_standby_names '${state.synchronousStandbyNames}', synchronous_commit ${state.synchronousCommit}) before its job runs, provided only a synchronous standby is promoted (Patroni synchronous_mode)`,
    };
  }
  if (state.standbys > 0) {
    const lag = state.replayLagMs;
    const window = lag === null ? null : Math.max(lag, crashWindowMs);
    return {
      ...base,
      mode: 'asynchronous',
      exactlyOnceAcrossFailover: false,
      refireWindowMs: window,
      summary: `asynchronous replication to ${state.standbys} standby(s): after a failover, fires committed in the last ${window === null ? 'replication lag (not visible to this role)' : `~${window} ms (the replication lag now)`} before the crash may fire again, each with the same idempotency key as the lost one; make commits synchronous for exactly-once`,
    };
  }
  return {
    ...base,
    mode: 'no-standby',
    exactlyOnceAcrossFailover: !commitOff,
    refireWindowMs: crashWindowMs,
    summary: commitOff
      ? `no standby, synchronous_commit off: a crash of the server may lose up to ${crashWindowMs} ms of commits, whose fires then fire again`
      : 'no standby: exactly-once while this server and its storage survive; a standby promoted later without synchronous replication could re-fire',
  };
}
