/**
 * `fireNow`'s write is one round trip: the one-off trigger and its NOTIFY in one statement, the NOTIFY
 * saying `fire` (wake and acquire) rather than `triggers` (definitions changed: reload calendars and drop
 * compiled schedules, one more query before the acquisition). docs/performance.md, the fireNow path.
 */
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobRecordFromOptions } from '../../../src/jobs/job-record.js';
import { insertOneOffTrigger, ONE_OFF_NOTIFY, upsertJob } from '../../../src/store/definition-store.js';
import { changeChannel } from '../../../src/store/executor.js';
import type { Database } from '../../../src/store/tables.js';
import { testDatabaseUrl, useTestSchema } from '../../support/schema.js';

const database = useTestSchema();
let listener: pg.Client;
const notices: string[] = [];

beforeAll(async () => {
  await upsertJob({ db: database.db, schema: database.schema }, jobRecordFromOptions('noop', {}, 'test'));
  listener = new pg.Client({ connectionString: testDatabaseUrl() });
  await listener.connect();
  listener.on('notification', (message) => notices.push(message.payload ?? ''));
  await listener.query(`LISTEN ${listener.escapeIdentifier(changeChannel(database.schema))}`);
});

afterAll(async () => {
  await listener?.end();
});

describe('insertOneOffTrigger', () => {
  it('writes the trigger and notifies `fire` in one statement', async () => {
    const statements: string[] = [];
    // Every statement this handle sends, as Kysely logs it.
    const db = new Kysely<Database>({
      dialect: new PostgresDialect({ pool: database.pool }),
      log: (event) => {
        statements.push(event.query.sql);
      },
    });
    const id = await insertOneOffTrigger(
      { db, schema: database.schema },
      { name: `noop.once.${crypto.randomUUID()}`, job: 'noop', group: 'notify', at: null, data: null },
    );
    expect(id).toMatch(/^\d+$/);
    expect(statements).toHaveLength(1);
    await expect.poll(() => notices, { timeout: 5_000 }).toEqual([ONE_OFF_NOTIFY]);
    expect(ONE_OFF_NOTIFY).not.toBe('triggers');
  });

  it('sends nothing when the insert fails (an unknown job)', async () => {
    notices.length = 0;
    await expect(
      insertOneOffTrigger(
        { db: database.db, schema: database.schema },
        { name: `nope.once.${crypto.randomUUID()}`, job: 'nope', group: 'notify', at: null, data: null },
      ),
    ).rejects.toThrow();
    await insertOneOffTrigger(
      { db: database.db, schema: database.schema },
      { name: `noop.once.${crypto.randomUUID()}`, job: 'noop', group: 'notify', at: null, data: null },
    );
    // Only the second insert's NOTIFY arrives (notifications are delivered in commit order).
    await expect.poll(() => notices, { timeout: 5_000 }).toEqual([ONE_OFF_NOTIFY]);
  });
});
