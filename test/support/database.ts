/**
 * Picks the PostgreSQL server for the whole test run, in this order:
 *   1. DATABASE_URL, when set;
 *   2. a testcontainers PostgreSQL, when a Docker engine answers;
 *   3. an embedded PostgreSQL from npm (what CI on this machine uses). As root in a private folder its
 *      data moves where the postgres user can reach it (src/dev/postgres-placement.ts); stop() removes
 *      it wherever it lives.
 * Every test of storage, clustering and the engine runs on the real thing; there is no mock.
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { startEmbeddedPostgres } from '../../src/dev/embedded-postgres.js';

export interface TestServer {
  url: string;
  kind: 'env' | 'testcontainers' | 'embedded';
  stop(): Promise<void>;
}

async function dockerAnswers(): Promise<boolean> {
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    await Promise.race([
      getContainerRuntimeClient(),
      new Promise((_, reject) => setTimeout(() => reject(new Error('no answer')), 5_000).unref()),
    ]);
    return true;
  } catch {
    return false;
  }
}

export async function startTestServer(): Promise<TestServer> {
  if (process.env.DATABASE_URL) {
    return { url: process.env.DATABASE_URL, kind: 'env', stop: async () => {} };
  }
  if (process.env.BELFRY_TEST_NO_DOCKER !== '1' && (await dockerAnswers())) {
    const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
    const container = await new PostgreSqlContainer('postgres:16-alpine')
      .withCommand(['postgres', '-c', 'max_connections=300'])
      .start();
    return {
      url: container.getConnectionUri(),
      kind: 'testcontainers',
      stop: async () => void (await container.stop()),
    };
  }
  const dataDir = join(process.cwd(), '.tmp', `test-pg-${randomBytes(4).toString('hex')}`);
  const server = await startEmbeddedPostgres({ dataDir, maxConnections: 300, env: process.env });
  return {
    url: server.url,
    kind: 'embedded',
    stop: async () => {
      await server.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
