/** Issue #10, item 6: the reason the engine paused a trigger is shown by `belfry triggers` and `belfry trigger NAME`. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { sql } from 'kysely';
import { beforeAll, expect, it } from 'vitest';
import { toTriggerSummary, triggerSummarySchema } from '../../../src/api/trigger-routes.js';
import { listTriggers } from '../../../src/store/definition-store.js';
import { defineJob, defineTrigger } from '../../support/fixtures.js';
import { testDatabaseUrl, useTestSchema } from '../../support/schema.js';

const run = promisify(execFile);
const BIN = new URL('../../../bin/belfry.js', import.meta.url).pathname;
const database = useTestSchema();
const belfry = (...args: string[]) =>
  run(process.execPath, [BIN, ...args], {
    env: { ...process.env, DATABASE_URL: testDatabaseUrl(), BELFRY_SCHEMA: database.schema },
  });
const REASON =
  'schedule failed: calendar "office" is not defined (define it under calendars, or use a shipped one)';

beforeAll(async () => {
  const ex = { db: database.db, schema: database.schema };
  await defineJob(ex, 'report');
  const id = await defineTrigger(
    ex,
    { name: 'office-report', job: 'report', spec: { kind: 'interval', everyMs: 60_000, calendar: 'office' } },
    new Date('2030-01-01T02:00:00Z'),
  );
  // As the acquirer leaves a trigger it had to pause.
  await sql`UPDATE ${sql.table(`${database.schema}.triggers`)}
               SET state = 'paused', next_fire_at = NULL, paused_reason = ${REASON} WHERE id = ${id}`.execute(
    database.db,
  );
});

it('belfry trigger NAME shows why the engine paused it', async () => {
  const { stdout } = await belfry('trigger', 'office-report');
  expect(stdout).toContain(`paused    ${REASON}`);
  const json = JSON.parse((await belfry('trigger', 'office-report', '--json')).stdout);
  expect(json).toMatchObject({ state: 'paused', pausedReason: REASON });
});

it('belfry triggers lists the reason', async () => {
  const { stdout } = await belfry('triggers');
  expect(stdout).toMatch(/pausedReason/);
  expect(stdout).toContain(REASON);
  const [row] = JSON.parse((await belfry('triggers', '--json')).stdout);
  expect(row).toMatchObject({ name: 'office-report', paused: true, pausedReason: REASON });
});

it('the API trigger representation carries it', async () => {
  const [trigger] = await listTriggers(
    { db: database.db, schema: database.schema },
    { names: ['office-report'] },
  );
  expect(triggerSummarySchema.parse(toTriggerSummary(trigger!))).toMatchObject({
    paused: true,
    pausedReason: REASON,
  });
});
