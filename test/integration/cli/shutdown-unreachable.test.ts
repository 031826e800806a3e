/**
 * A replica told to stop while its database does not answer exits within its shutdown timeout, and
 * says in one line what it could not do. The database is frozen (SIGSTOP on the whole server), the
 * hardest case: connections neither answer nor fail, so only the replica's own deadline ends the wait.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedPostgres, type EmbeddedServer } from '../../../src/dev/embedded-postgres.js';
import { belfry } from './cli-process.js';

let server: EmbeddedServer;
let folder: string;
let frozen = false;

beforeAll(async () => {
  folder = mkdtempSync(join(tmpdir(), 'belfry-unreachable-'));
  // Its own process group, so the whole server (postmaster and backends) can be frozen at once.
  server = await startEmbeddedPostgres({
    dataDir: join(folder, 'pg'),
    ownProcessGroup: true,
    env: process.env,
  });
});

afterAll(async () => {
  if (frozen) process.kill(-postmasterPid(), 'SIGCONT');
  await server.stop();
  rmSync(folder, { recursive: true, force: true });
});

function postmasterPid(): number {
  return Number(readFileSync(join(server.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
}

describe('stopping a replica whose database is unreachable', () => {
  it('exits within BELFRY_SHUTDOWN_TIMEOUT with one line saying what it could not do', async () => {
    const run = belfry(['start', '--config', 'examples/belfry.yaml', '--name', 'cut-off'], {
      env: { DATABASE_URL: server.url, BELFRY_SHUTDOWN_TIMEOUT: '3s' },
    });
    await run.waitForOutput(/"msg":"scheduler started"/);
    process.kill(-postmasterPid(), 'SIGSTOP');
    frozen = true;
    const signalledAt = performance.now();
    run.child.kill('SIGTERM');
    const code = await run.exited;
    const tookMs = performance.now() - signalledAt;
    const { stderr } = run.output();
    expect(tookMs).toBeLessThan(3_000 + 1_500);
    expect(code).toBe(1);
    const lines = stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^belfry: could not resign and check out within the shutdown timeout/);
  }, 30_000);
});
