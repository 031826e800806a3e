import type { TestProject } from 'vitest/node';
import { EmbeddedPostgresError } from '../../src/dev/embedded-postgres.js';
import { startTestServer } from './database.js';

declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string;
  }
}

export default async function setup(project: TestProject) {
  let server: Awaited<ReturnType<typeof startTestServer>>;
  try {
    server = await startTestServer();
  } catch (error) {
    if (!(error instanceof EmbeddedPostgresError)) throw error;
    // A setup problem (no postgres user, a folder it cannot reach) says what to do; a stack would not.
    const line = `[belfry tests] no PostgreSQL for the tests: ${error.message}`;
    const failure = new Error(line);
    failure.stack = line;
    throw failure;
  }
  console.log(`[belfry tests] PostgreSQL: ${server.kind}`);
  project.provide('databaseUrl', server.url);
  return async () => server.stop();
}
