import type { TestProject } from 'vitest/node';
import { startTestServer } from './database.js';

declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string;
  }
}

export default async function setup(project: TestProject) {
  const server = await startTestServer();
  console.log(`[belfry tests] PostgreSQL: ${server.kind}`);
  project.provide('databaseUrl', server.url);
  return async () => server.stop();
}
