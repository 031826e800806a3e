/**
 * `apply` of many triggers (issue #16: 100,000 in at most 30 s, bench/apply-scale.ts): new triggers go
 * in multi-row statements, a thousand rows each, with one NOTIFY, instead of two round trips per trigger;
 * and loading a file is linear in its entries (the position lookups and the duplicate-key check used to
 * compare each entry with every earlier one).
 */
import { Kysely, PostgresDialect } from 'kysely';
import { describe, expect, it } from 'vitest';
import { loadDefinitions } from '../../../src/config/definition-loader.js';
import { applyDefinitions } from '../../../src/config/definition-reconciler.js';
import { listTriggers } from '../../../src/store/definition-store.js';
import type { Database } from '../../../src/store/tables.js';
import { useTestSchema } from '../../support/schema.js';

const TRIGGERS = 2_500;
const database = useTestSchema();

function yaml(triggers: number, duplicate = false): string {
  const lines = ['jobs:', '  work:', '    type: command', '    command: "true"', 'triggers:'];
  for (let i = 0; i < triggers; i++)
    lines.push(`  t-${i}:`, '    job: work', `    cron: '${i % 60} * * * * *'`, '    timezone: Europe/Paris');
  if (duplicate) lines.push('  t-1:', '    job: work', '    every: 5s');
  return `${lines.join('\n')}\n`;
}

const load = (text: string) => loadDefinitions(['big.yaml'], { readFile: async () => text });

describe('apply of many triggers', () => {
  it('inserts new triggers a thousand per statement', async () => {
    const loaded = await load(yaml(TRIGGERS));
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors.slice(0, 3)));
    const statements: string[] = [];
    const db = new Kysely<Database>({
      dialect: new PostgresDialect({ pool: database.pool }),
      log: (event) => {
        statements.push(event.query.sql);
      },
    }).withSchema(database.schema);
    const plan = await applyDefinitions({ db, schema: database.schema }, loaded.definitions);
    expect(plan.entries.filter((e) => e.type === 'trigger' && e.action === 'add')).toHaveLength(TRIGGERS);
    const inserts = statements.filter((s) => /insert into "[^"]+"\."triggers"/i.test(s));
    expect(inserts).toHaveLength(Math.ceil(TRIGGERS / 1_000));
    expect(statements.filter((s) => s.includes('pg_notify'))).toHaveLength(1);
    const stored = await listTriggers({ db: database.db, schema: database.schema });
    expect(stored).toHaveLength(TRIGGERS);
    expect(stored.every((t) => t.state === 'waiting' && t.nextFireAt !== null)).toBe(true);
  });

  it('updates changed triggers with one NOTIFY for them all', async () => {
    // The first 200 triggers in another zone (the others, absent from this file, are left alone).
    const loaded = await load(yaml(200).replaceAll('timezone: Europe/Paris', 'timezone: UTC'));
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors.slice(0, 3)));
    const statements: string[] = [];
    const db = new Kysely<Database>({
      dialect: new PostgresDialect({ pool: database.pool }),
      log: (event) => {
        statements.push(event.query.sql);
      },
    }).withSchema(database.schema);
    const plan = await applyDefinitions({ db, schema: database.schema }, loaded.definitions);
    expect(plan.entries.filter((e) => e.type === 'trigger' && e.action === 'change')).toHaveLength(200);
    expect(statements.filter((s) => s.includes('pg_notify'))).toHaveLength(1);
    const stored = await listTriggers({ db: database.db, schema: database.schema });
    expect(stored.filter((t) => t.replanAt !== null)).toHaveLength(200);
  });

  it('still reports a duplicate trigger name at its line', async () => {
    const loaded = await load(yaml(3, true));
    expect(loaded.ok).toBe(false);
    if (loaded.ok) return;
    expect(loaded.errors).toEqual([
      expect.objectContaining({ line: 18, column: 3, message: 'YAML syntax: Map keys must be unique' }),
    ]);
  });
});
