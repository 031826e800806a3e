/**
 * `belfry start` as a real process: a bad definitions file changes nothing and exits non-zero; an
 * unreachable database is retried (no crash loop) until SIGTERM; replicas starting at once reconcile the
 * same file safely and share the work.
 */
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { testDatabaseUrl, uniqueSchema, useTestSchema } from '../support/schema.js';
import { freePort } from '../../src/dev/embedded-postgres.js';

const BIN = new URL('../../bin/belfry.js', import.meta.url).pathname;

function belfry(args: string[], env: Record<string, string>) {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { ...process.env, BELFRY_HTTP_PORT: '0', ...env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, output: () => ({ stdout, stderr }) };
}

async function until(predicate: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const database = useTestSchema();

describe('belfry start', () => {
  it('rejects a bad definitions file with file:line:column and touches nothing', async () => {
    const schema = uniqueSchema('bad');
    const run = belfry(['start', '--config', 'examples/invalid.yaml'], {
      DATABASE_URL: testDatabaseUrl(),
      BELFRY_SCHEMA: schema,
    });
    expect(await run.exited).toBe(1);
    const { stderr } = run.output();
    expect(stderr).toMatch(/examples\/invalid\.yaml:22:11: triggers\.nightly\.cron: .*hour field/);
    expect(stderr).toMatch(/nothing was changed/);
    const { rows } = await sql<{
      n: number;
    }>`SELECT count(*)::int AS n FROM information_schema.schemata WHERE schema_name = ${schema}`.execute(
      database.db,
    );
    expect(rows[0]!.n).toBe(0);
  });

  it('retries an unreachable database with backoff instead of crashing, and stops on SIGTERM', async () => {
    const port = await freePort();
    const run = belfry(['start', '--config', 'examples/belfry.yaml'], {
      DATABASE_URL: 'postgres://belfry:x@127.0.0.1:1/none',
      BELFRY_HTTP_PORT: String(port),
    });
    await until(() => (run.output().stdout.match(/database unreachable; retrying/g) ?? []).length >= 3);
    expect(run.child.exitCode).toBeNull();
    // Alive (so a liveness probe does not restart it), but not ready.
    const base = `http://127.0.0.1:${port}`;
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/readyz`)).status).toBe(503);
    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(0);
  });

  it('lets replicas that start together reconcile the same file once and fire it', async () => {
    const env = { DATABASE_URL: testDatabaseUrl(), BELFRY_SCHEMA: database.schema };
    const runs = [1, 2].map((i) =>
      belfry(['start', '--config', 'examples/belfry.yaml', '--name', `r${i}`], env),
    );
    const history = sql.table(`${database.schema}.job_history`);
    await until(async () => {
      const tables = await sql<{
        n: number;
      }>`SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = ${database.schema} AND table_name = 'fires'`.execute(
        database.db,
      );
      if (tables.rows[0]!.n === 0) return false;
      const { rows } = await sql<{
        n: number;
      }>`SELECT count(*)::int AS n FROM ${history} WHERE status = 'succeeded'`.execute(database.db);
      return rows[0]!.n >= 3;
    }, 30_000);
    for (const run of runs) run.child.kill('SIGTERM');
    expect(await Promise.all(runs.map((run) => run.exited))).toEqual([0, 0]);
    const { rows } = await sql<{
      name: string;
    }>`SELECT name FROM ${sql.table(`${database.schema}.triggers`)} ORDER BY name`.execute(database.db);
    expect(rows.map((row) => row.name)).toEqual([
      'flaky-report-every-20s',
      'heartbeat-every-5s',
      'sampler-every-3s',
    ]);
    const { rows: dupes } = await sql<{ n: number }>`
      SELECT count(*)::int AS n FROM (SELECT fire_id FROM ${history} WHERE attempt = 1 GROUP BY fire_id HAVING count(*) > 1) d`.execute(
      database.db,
    );
    expect(dupes[0]!.n).toBe(0);
  });
});
