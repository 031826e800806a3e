/**
 * Issue 18 item 4: SQL stays in src/store/. The lint ban outside the store covers `sql` tags, kysely
 * builders and raw `.query(` calls (a pg client's LISTEN or advisory lock); the store itself may use all.
 * The rule options are read from eslint.config.js and run on snippets, so the test needs no file on disk.
 */
import { ESLint, Linter } from 'eslint';
import { describe, expect, it } from 'vitest';

const eslint = new ESLint();

async function sqlMessages(file: string, code: string): Promise<string[]> {
  const config = (await eslint.calculateConfigForFile(file)) as { rules?: Record<string, Linter.RuleEntry> };
  const restricted = config.rules?.['no-restricted-syntax'];
  if (restricted === undefined) return [];
  const messages = new Linter().verify(code, { rules: { 'no-restricted-syntax': restricted } });
  return messages.map((m) => m.message).filter((m) => m.startsWith('SQL lives in src/store/'));
}

describe('the SQL boundary lint', () => {
  const rawQuery = 'export const listen = (client) => client.query("LISTEN belfry");';

  it('bans a raw .query( call outside src/store/', async () => {
    expect(await sqlMessages('src/cluster/session-connection.ts', rawQuery)).toHaveLength(1);
    expect(await sqlMessages('src/engine/probe.ts', 'pool.query("SELECT 1");')).toHaveLength(1);
  });

  it('still bans sql tags and kysely builders there', async () => {
    expect(await sqlMessages('src/api/probe.ts', 'sql`SELECT 1`; db.selectFrom("jobs");')).toHaveLength(2);
  });

  it('allows them in src/store/, and a property named query that is not called', async () => {
    expect(await sqlMessages('src/store/session-store.ts', rawQuery)).toEqual([]);
    expect(await sqlMessages('src/api/probe.ts', 'const q = request.query; q.limit;')).toEqual([]);
  });
});
