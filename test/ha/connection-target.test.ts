/** Multi-host URLs, the replication guarantee, and the primary-aware pool against a real server. */
import { describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { openDatabase } from '../../src/store/database.js';
import { classifyDatabaseError, NoPrimaryError } from '../../src/store/errors.js';
import { parseConnectionTarget } from '../../src/store/primary-connection.js';
import { replicationGuarantee } from '../../src/store/replication-guarantee.js';
import type { ReplicationState } from '../../src/store/replication-store.js';
import { readReplicationState } from '../../src/store/replication-store.js';
import { testDatabaseUrl } from '../support/schema.js';
import { freePorts } from './patroni-cluster.js';

describe('parseConnectionTarget', () => {
  it('splits a multi-host URL, keeps the rest, and requires the primary', () => {
    const target = parseConnectionTarget(
      'postgres://u:p%40ss@db1:5432,db2:6432,[::1]:7432/app?sslmode=disable&target_session_attrs=read-write',
    );
    expect(target.hosts).toEqual([
      { host: 'db1', port: 5432 },
      { host: 'db2', port: 6432 },
      { host: '::1', port: 7432 },
    ]);
    expect(target.requirePrimary).toBe(true);
    expect(target.url).toBe('postgres://u:p%40ss@db1:5432/app?sslmode=disable');
  });

  it('requires the primary by default with several hosts, not with one; any turns it off', () => {
    expect(parseConnectionTarget('postgres://db1,db2/app').requirePrimary).toBe(true);
    expect(parseConnectionTarget('postgres://db1,db2/app').hosts.map((h) => h.port)).toEqual([5432, 5432]);
    expect(parseConnectionTarget('postgres://db1:5433/app').requirePrimary).toBe(false);
    expect(parseConnectionTarget('postgres://db1/app?target_session_attrs=primary').requirePrimary).toBe(
      true,
    );
    expect(parseConnectionTarget('postgres://db1,db2/app?target_session_attrs=any').requirePrimary).toBe(
      false,
    );
  });

  it('refuses target_session_attrs that ask for a standby', () => {
    expect(() => parseConnectionTarget('postgres://db1,db2/app?target_session_attrs=standby')).toThrow(
      /asks for a standby/,
    );
  });

  it('leaves key=value strings alone', () => {
    expect(parseConnectionTarget('host=db1 dbname=app')).toEqual({
      url: 'host=db1 dbname=app',
      hosts: [],
      requirePrimary: false,
    });
  });
});

describe('replicationGuarantee', () => {
  const state = (over: Partial<ReplicationState>): ReplicationState => ({
    synchronousCommit: 'on',
    synchronousStandbyNames: '',
    inRecovery: false,
    standbys: 0,
    synchronousStandbys: 0,
    replayLagMs: null,
    walWriterDelayMs: 200,
    ...over,
  });

  it('synchronous: exactly once across failover', () => {
    const g = replicationGuarantee(
      state({ synchronousStandbyNames: 'node2', standbys: 2, synchronousStandbys: 1 }),
    );
    expect(g).toMatchObject({ mode: 'synchronous', exactlyOnceAcrossFailover: true, refireWindowMs: 0 });
  });

  it('standby names with synchronous_commit local or off are asynchronous, with the lag as the window', () => {
    const g = replicationGuarantee(
      state({ synchronousStandbyNames: 'node2', synchronousCommit: 'local', standbys: 1, replayLagMs: 40 }),
    );
    expect(g).toMatchObject({ mode: 'asynchronous', exactlyOnceAcrossFailover: false, refireWindowMs: 40 });
    expect(g.summary).toMatch(/fire again/);
    const off = replicationGuarantee(state({ synchronousCommit: 'off', standbys: 1, replayLagMs: 5 }));
    expect(off.refireWindowMs).toBe(600);
  });

  it('no standby: exactly once unless synchronous_commit is off', () => {
    expect(replicationGuarantee(state({}))).toMatchObject({
      mode: 'no-standby',
      exactlyOnceAcrossFailover: true,
    });
    expect(replicationGuarantee(state({ synchronousCommit: 'off' }))).toMatchObject({
      mode: 'no-standby',
      exactlyOnceAcrossFailover: false,
      refireWindowMs: 600,
    });
  });
});

describe('a pool on a multi-host URL', () => {
  it('skips hosts that do not answer and reads the server it reached', async () => {
    const [closed] = await freePorts(1);
    const url = new URL(testDatabaseUrl());
    const multi = `postgres://${url.username}:${url.password}@127.0.0.1:${closed},${url.host}${url.pathname}?target_session_attrs=read-write`;
    const database = openDatabase({ connectionString: multi, schema: 'public', maxConnections: 2 });
    try {
      const { rows } = await sql<{ recovery: boolean }>`SELECT pg_is_in_recovery() AS recovery`.execute(
        database.db,
      );
      expect(rows[0]!.recovery).toBe(false);
      const state = await readReplicationState({ db: database.db, schema: 'public' });
      expect(state).toEqual({
        synchronousCommit: expect.any(String),
        synchronousStandbyNames: expect.any(String),
        inRecovery: false,
        standbys: 0,
        synchronousStandbys: 0,
        replayLagMs: null,
        walWriterDelayMs: expect.any(Number),
      });
      expect(replicationGuarantee(state).mode).toBe('no-standby');
    } finally {
      await database.destroy();
    }
  });

  it('fails with a connection-class NoPrimaryError when no host answers', async () => {
    const ports = await freePorts(2);
    const database = openDatabase({
      connectionString: `postgres://u:p@127.0.0.1:${ports[0]},127.0.0.1:${ports[1]}/db`,
      maxConnections: 1,
    });
    try {
      const error = await sql`SELECT 1`.execute(database.db).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(NoPrimaryError);
      expect(classifyDatabaseError(error)).toBe('connection');
    } finally {
      await database.destroy();
    }
  });
});
