/** `belfry trigger NAME` and `belfry delete` as real processes. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { beforeAll, expect, it } from 'vitest';
import { testDatabaseUrl, useTestSchema } from '../support/schema.js';
import { defineJob, defineTrigger } from '../support/fixtures.js';
import { listTriggers } from '../../src/store/definition-store.js';

const run = promisify(execFile);
const BIN = new URL('../../bin/belfry.js', import.meta.url).pathname;
const database = useTestSchema();
const belfry = (...args: string[]) =>
  run(process.execPath, [BIN, ...args], {
    env: { ...process.env, DATABASE_URL: testDatabaseUrl(), BELFRY_SCHEMA: database.schema },
  });

beforeAll(async () => {
  const ex = { db: database.db, schema: database.schema };
  await defineJob(ex, 'report');
  await defineTrigger(
    ex,
    { name: 'nightly', job: 'report', spec: { kind: 'cron', expression: '0 2 * * *', timezone: 'UTC' } },
    new Date('2030-01-01T02:00:00Z'),
  );
});

it('shows one trigger with its recent executions', async () => {
  const { stdout } = await belfry('trigger', 'nightly', '--json');
  const shown = JSON.parse(stdout);
  expect(shown).toMatchObject({ name: 'nightly', job: 'report', state: 'waiting', recentExecutions: [] });
  expect(new Date(shown.nextFireAt).toISOString()).toBe('2030-01-01T02:00:00.000Z');
});

it('shows the recent executions as a table without the trigger and job it already names', async () => {
  const { stdout } = await belfry('trigger', 'nightly');
  expect(stdout).toContain('scheduledAt  attempt  status  instance  lagMs  durationMs  error\n');
});

it('rejects an unknown name and deletes nothing', async () => {
  await expect(belfry('delete', '--trigger', 'nightlyy')).rejects.toMatchObject({
    stderr: expect.stringMatching(/unknown trigger "nightlyy"/),
  });
  await expect(belfry('delete', '--trigger', 'nightly', '--job', 'report')).rejects.toMatchObject({
    stderr: expect.stringMatching(/exactly one/),
  });
  expect((await listTriggers({ db: database.db, schema: database.schema })).map((t) => t.name)).toEqual([
    'nightly',
  ]);
});

it('deletes a trigger', async () => {
  const { stdout } = await belfry('delete', '--trigger', 'nightly', '--json');
  expect(JSON.parse(stdout)).toEqual({ trigger: 'nightly', deleted: true });
  expect(await listTriggers({ db: database.db, schema: database.schema })).toEqual([]);
});

it('previews a trigger from a YAML file with belfry next', async () => {
  const { stdout } = await belfry(
    'next',
    '--config',
    'examples/belfry.yaml',
    '--trigger',
    'heartbeat-every-5s',
    '--from',
    '2026-12-01T00:00:00Z',
    '--count',
    '3',
    '--json',
  );
  expect(JSON.parse(stdout).map((fire: { at: string }) => fire.at)).toEqual([
    '2026-12-01T00:00:05.000Z',
    '2026-12-01T00:00:10.000Z',
    '2026-12-01T00:00:15.000Z',
  ]);
  await expect(belfry('next', '--config', 'examples/belfry.yaml', '--trigger', 'nope')).rejects.toMatchObject(
    {
      stderr: expect.stringMatching(/no trigger "nope"/),
    },
  );
});
