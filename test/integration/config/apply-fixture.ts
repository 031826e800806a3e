/** What each test of apply starts from: a fresh database, and a definition folder with jobs/report.ts. */
import type { BelfryDatabase } from '../../../src/store/database.js';
import type { Executor } from '../../../src/store/executor.js';
import { createTestDatabase, dropTestDatabase } from '../../support/schema.js';
import { definitionDir, type DefinitionDir } from '../../unit/config/definition-files.js';

export interface ApplyFixture {
  database: BelfryDatabase;
  ex: Executor;
  files: DefinitionDir;
}

export async function openApplyFixture(): Promise<ApplyFixture> {
  const database = await createTestDatabase();
  const files = definitionDir();
  files.write('jobs/report.ts', 'export default class Report { async execute() {} }\n');
  return { database, ex: { db: database.db, schema: database.schema }, files };
}

export async function closeApplyFixture(fixture: Pick<ApplyFixture, 'database' | 'files'>): Promise<void> {
  fixture.files.remove();
  await dropTestDatabase(fixture.database);
}
