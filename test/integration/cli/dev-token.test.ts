/**
 * `belfry dev` does not leave its admin API open on loopback (issue #11, item 6): it generates a token
 * for its replicas, prints it, and the API refuses requests without it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { freePort } from '../../../src/dev/embedded-postgres.js';
import { BIN, runCli } from './cli-process.js';

const dataDir = mkdtempSync(join(tmpdir(), 'belfry-dev-token-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

it('generates an admin token, prints it, and the admin API requires it', async () => {
  const [pgPort, adminPort] = [await freePort(), await freePort()];
  const env = { ...process.env } as Record<string, string>;
  delete env.BELFRY_HTTP_TOKEN;
  const run = runCli(
    [
      process.execPath,
      BIN,
      'dev',
      '--config',
      'examples/belfry.yaml',
      '--replicas',
      '1',
      '--port',
      String(pgPort),
      '--admin-port',
      String(adminPort),
      '--data-dir',
      join(dataDir, 'pg'),
    ],
    { env: { ...env, BELFRY_HTTP_TOKEN: '' }, ownProcessGroup: true },
  );
  try {
    await run.waitForOutput(/admin API token \(generated for this run\): \S+/, 90_000);
    const token = /admin API token \(generated for this run\): (\S+)/.exec(run.output().stdout)![1]!;
    expect(token.length).toBeGreaterThanOrEqual(32);
    // The banner names the dashboard, and that token logs in to it.
    await run.waitForOutput(/dashboard: http:\/\/127\.0\.0\.1:\d+\/ui\/ /, 5_000);
    expect(run.output().stdout).toContain(
      `dashboard: http://127.0.0.1:${adminPort}/ui/ (log in with the admin API token above)`,
    );
    const url = `http://127.0.0.1:${adminPort}/api/v1/jobs`;
    let authorized = 0;
    for (let i = 0; i < 300 && authorized !== 200; i += 1) {
      authorized = await fetch(url, { headers: { authorization: `Bearer ${token}` } }).then(
        (response) => response.status,
        () => 0,
      );
      if (authorized !== 200) await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(authorized).toBe(200);
    const session = await fetch(`http://127.0.0.1:${adminPort}/ui/session`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(session.status).toBe(200);
    expect(((await session.json()) as { scope: string }).scope).toBe('admin');
    expect((await fetch(url)).status).toBe(401);
    expect(
      (await fetch(`http://127.0.0.1:${adminPort}/api/v1/cluster/pause`, { method: 'POST' })).status,
    ).toBe(401);
  } finally {
    process.kill(-run.child.pid!, 'SIGINT');
  }
  // Its exit code on Ctrl-C is the first-run test's subject; here it only has to be gone.
  await run.exited;
}, 150_000);
