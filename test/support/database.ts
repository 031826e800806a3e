/**
 * Picks the PostgreSQL server for the whole test run: DATABASE_URL, else a testcontainers PostgreSQL when
 * a Docker engine answers, else an embedded PostgreSQL from npm (what CI on this machine uses). The chain
 * is belfry/testing's `startTestServer` (src/testing/test-server.ts), so users' tests of their schedules
 * get the same servers as Belfry's own. Every test of storage, clustering and the engine runs on the real
 * thing; there is no mock.
 */
import { startTestServer as startServer, type TestServer } from '../../src/testing/test-server.js';

export type { TestServer };

export function startTestServer(): Promise<TestServer> {
  return startServer(process.env);
}
