/**
 * `belfry triggers` and `GET /api/v1/triggers` page by keyset (issue #16: 1,000,000 triggers defined):
 * each page is the names after the last one seen, in name order, read from the unique name index, so a
 * page costs the same however many triggers come before it.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { insertBenchTriggers } from '../../../bench/support/belfry-db.js';
import { jobRecordFromOptions } from '../../../src/jobs/job-record.js';
import { triggerRoutes } from '../../../src/api/trigger-routes.js';
import { listTriggers, TRIGGER_PAGE, upsertJob } from '../../../src/store/definition-store.js';
import { systemClock } from '../../../src/time/clock.js';
import { testDatabaseUrl, useTestSchema } from '../../support/schema.js';

const TRIGGERS = 2_500;
const database = useTestSchema();
const run = promisify(execFile);
const BIN = new URL('../../../bin/belfry.js', import.meta.url).pathname;
const belfry = (...args: string[]) =>
  run(process.execPath, [BIN, ...args], {
    env: { ...process.env, DATABASE_URL: testDatabaseUrl(), BELFRY_SCHEMA: database.schema },
  });

beforeAll(async () => {
  await upsertJob({ db: database.db, schema: database.schema }, jobRecordFromOptions('noop', {}, 'test'));
  const at = Date.parse('2040-01-01T00:00:00Z');
  await insertBenchTriggers(database.pool, database.schema, {
    group: 'pages',
    job: 'noop',
    // Names whose insertion order is not their name order.
    triggers: Array.from({ length: TRIGGERS }, (_, i) => ({
      name: `t-${String((i * 7919) % TRIGGERS).padStart(5, '0')}`,
      kind: 'once' as const,
      firstAt: at + i,
    })),
  });
  await database.pool.query(`ANALYZE "${database.schema}".triggers`);
});

describe('listTriggers by keyset', () => {
  it('pages through every trigger once, in name order', async () => {
    const ex = { db: database.db, schema: database.schema };
    const seen: string[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await listTriggers(ex, { after, limit: 1_000 });
      seen.push(...page.map((t) => t.name));
      if (page.length < 1_000) break;
      after = page.at(-1)!.name;
    }
    expect(seen).toHaveLength(TRIGGERS);
    expect(new Set(seen).size).toBe(TRIGGERS);
    expect(seen).toEqual([...seen].sort());
  });

  it('reads a page from the name index, not the whole table', async () => {
    const { rows } = await database.pool.query<{ 'QUERY PLAN': string }>(
      `EXPLAIN (ANALYZE, BUFFERS, FORMAT TEXT)
       SELECT * FROM "${database.schema}".triggers WHERE state <> 'complete' AND name > 't-02000' ORDER BY name LIMIT 100`,
    );
    const plan = rows.map((row) => row['QUERY PLAN']).join('\n');
    expect(plan).toMatch(/Index Scan using triggers_name_key/);
    expect(plan).not.toMatch(/Sort/);
  });
});

describe('GET /api/v1/triggers', () => {
  it('pages by limit and after, with the query the route validates', async () => {
    const list = triggerRoutes.find((r) => r.method === 'GET' && r.path === '/triggers')!;
    const context = { executor: { db: database.db, schema: database.schema }, clock: systemClock };
    const get = async (query: Record<string, string>) =>
      (await list.handle(
        { params: undefined, query: list.query!.parse(query), body: undefined } as never,
        context,
      )) as { name: string }[];
    const first = await get({ limit: '2000' });
    expect(first).toHaveLength(2_000);
    const rest = await get({ limit: '2000', after: first.at(-1)!.name });
    expect(rest).toHaveLength(TRIGGERS - 2_000);
    expect(new Set([...first, ...rest].map((t) => t.name)).size).toBe(TRIGGERS);
    expect(await get({})).toHaveLength(TRIGGER_PAGE.default);
    expect(await get({ limit: '999999' })).toHaveLength(TRIGGERS); // capped at TRIGGER_PAGE.max
    expect(() => list.query!.parse({ limit: '-1' })).toThrow();
  });
});

describe('belfry triggers', () => {
  it(`shows ${TRIGGER_PAGE.default} by default and says how to get the next page`, async () => {
    const first = await belfry('triggers', '--json');
    const page = JSON.parse(first.stdout) as { name: string }[];
    expect(page).toHaveLength(TRIGGER_PAGE.default);
    const last = page.at(-1)!.name;
    expect(first.stderr).toContain(`belfry triggers --after "${last}"`);
    const rest = JSON.parse((await belfry('triggers', '--json', '--after', last, '--limit', '10000')).stdout);
    expect(rest).toHaveLength(TRIGGERS - TRIGGER_PAGE.default);
    expect(rest[0].name > last).toBe(true);
  });
});
