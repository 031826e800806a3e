/** The admin audit store: insert, filter newest first, prune by the database clock. */
import { beforeAll, expect, it } from 'vitest';
import {
  insertAdminAudit,
  pruneAdminAudit,
  queryAdminAudit,
  type AdminAuditRecord,
} from '../../../src/store/admin-audit-store.js';
import type { Executor } from '../../../src/store/executor.js';
import { useTestSchema } from '../../support/schema.js';

const database = useTestSchema();
let ex: Executor;

beforeAll(async () => {
  ex = { db: database.db, schema: database.schema };
});

const record = (actor: string, now: string): AdminAuditRecord & { now: Date } => ({
  actor,
  scope: 'admin',
  method: 'POST',
  operation: 'pauseCluster',
  path: '/api/v1/cluster/pause',
  target: null,
  status: 200,
  remoteAddress: '10.0.0.1',
  userAgent: null,
  instanceId: null,
  now: new Date(now),
});

it('filters by actor and time, newest first, and prunes what is past retention', async () => {
  await insertAdminAudit(ex, record('admin', '2030-01-01T00:00:00Z'));
  await insertAdminAudit(ex, record('anonymous', '2030-01-02T00:00:00Z'));
  await insertAdminAudit(ex, record('admin', '2030-01-03T00:00:00Z'));
  const all = await queryAdminAudit(ex, { limit: 10 });
  expect(all.map((e) => e.at.toISOString().slice(0, 10))).toEqual(['2030-01-03', '2030-01-02', '2030-01-01']);
  expect(
    (await queryAdminAudit(ex, { actor: 'admin', since: new Date('2030-01-02T00:00:00Z'), limit: 10 }))
      .length,
  ).toBe(1);
  const day = 86_400_000;
  expect(
    await pruneAdminAudit(ex, { retentionMs: day, limit: 10, now: new Date('2030-01-03T12:00:00Z') }),
  ).toBe(2);
  expect((await queryAdminAudit(ex, { limit: 10 })).map((e) => e.actor)).toEqual(['admin']);
});
