import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyDefinitions } from '../../../src/config/definition-reconciler.js';
import { loadDefinitions } from '../../../src/config/definition-loader.js';
import { registerDefinitionJobs } from '../../../src/config/job-registrar.js';
import { CommandJobError } from '../../../src/jobs/builtin/command-job.js';
import { HttpJobError } from '../../../src/jobs/builtin/http-job.js';
import type { SecretSources } from '../../../src/jobs/builtin/secret-value.js';
import { builtinJobRunners } from '../../support/builtin-job-runner.js';
import { createTestDatabase, dropTestDatabase } from '../../support/schema.js';
import { testScheduler, waitForEvents } from '../../support/scheduler.js';
import { definitionDir, yaml } from '../../unit/config/definition-files.js';

let server: Server;
let baseUrl: string;
const received: { url: string; method: string; headers: IncomingHttpHeaders; body: string }[] = [];

beforeAll(async () => {
  server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      received.push({ url: request.url!, method: request.method!, headers: request.headers, body });
      if (request.url === '/ok') return response.writeHead(204).end();
      if (request.url === '/fail')
        return response
          .writeHead(500, { 'content-type': 'text/plain' })
          .end(`database down ${'x'.repeat(1_000)}`);
      if (request.url === '/slow')
        return setTimeout(() => response.writeHead(200).end('late'), 5_000).unref();
      response.writeHead(404).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const secrets: SecretSources = {
  env: { PING_TOKEN: 'Bearer t0k3n', PATH: process.env.PATH, HOME: '/home/test', LEAK_ME: 'no' },
};

const { runHttp, runCommand } = builtinJobRunners(secrets);

describe('the http job', () => {
  it('succeeds on 2xx with the status and duration, sending secrets resolved from the environment', async () => {
    const result = await runHttp({
      url: `${baseUrl}/ok`,
      method: 'POST',
      headers: { Authorization: { env: 'PING_TOKEN' } },
      body: { hello: 'world' },
    });
    expect(result).toEqual({ status: 204, durationMs: expect.any(Number) });
    const request = received.at(-1)!;
    expect(request).toMatchObject({ url: '/ok', method: 'POST', body: '{"hello":"world"}' });
    expect(request.headers).toMatchObject({
      authorization: 'Bearer t0k3n',
      'content-type': 'application/json',
    });
  });

  it('fails on 500 with the status and the start of the body', async () => {
    const error = (await runHttp({ url: `${baseUrl}/fail` }).catch(
      (caught: unknown) => caught,
    )) as HttpJobError;
    expect(error).toBeInstanceOf(HttpJobError);
    expect(error.status).toBe(500);
    expect(error.message).toMatch(new RegExp(`^GET ${baseUrl}/fail answered 500: database down x+$`));
    expect(error.message.length).toBeLessThan(600);
  });

  it('gives up at its timeout, and when the execution is aborted', async () => {
    await expect(runHttp({ url: `${baseUrl}/slow`, timeoutMs: 200 })).rejects.toThrow(
      /no answer within 200 ms/,
    );
    const controller = new AbortController();
    const running = runHttp({ url: `${baseUrl}/slow` }, controller.signal);
    controller.abort(new Error('shutdown deadline'));
    await expect(running).rejects.toThrow('shutdown deadline');
  });

  it('fails clearly when a secret is missing, without sending anything', async () => {
    const count = received.length;
    await expect(
      runHttp({ url: `${baseUrl}/ok`, headers: { 'X-Token': { env: 'NOT_SET' } } }),
    ).rejects.toThrow('environment variable NOT_SET is not set');
    expect(received.length).toBe(count);
  });
});

describe('the command job', () => {
  it('succeeds on exit 0 with the tail of stdout', async () => {
    expect(await runCommand({ command: '/bin/echo', args: ['hello', 'world'] })).toEqual({
      exitCode: 0,
      stdoutTail: 'hello world\n',
    });
  });

  it('keeps only the last 4 KiB of output', async () => {
    const result = await runCommand({
      command: 'node',
      args: ['-e', 'process.stdout.write("a".repeat(10000) + "END")'],
    });
    expect(result.stdoutTail).toHaveLength(4_096);
    expect(result.stdoutTail.endsWith('aEND')).toBe(true);
  });

  it('fails with the exit code and the tail of stderr', async () => {
    const error = (await runCommand({ command: '/bin/false' }).catch(
      (caught: unknown) => caught,
    )) as CommandJobError;
    expect(error).toBeInstanceOf(CommandJobError);
    expect(error.exitCode).toBe(1);
    expect(error.message).toBe('/bin/false exited with code 1');
    await expect(
      runCommand({ command: 'node', args: ['-e', 'console.error("disk full"); process.exit(3)'] }),
    ).rejects.toThrow(/exited with code 3; output tail:\ndisk full/);
    await expect(runCommand({ command: '/no/such/binary' })).rejects.toThrow(
      'could not run /no/such/binary: ENOENT',
    );
  });

  it('kills the command at its timeout', async () => {
    const started = performance.now();
    await expect(runCommand({ command: 'sleep', args: ['10'], timeoutMs: 200 })).rejects.toThrow(
      'sleep timed out after 200 ms and was killed',
    );
    expect(performance.now() - started).toBeLessThan(3_000);
  });

  it('runs without a shell, in its cwd, with a small environment plus the declared one', async () => {
    const result = await runCommand({
      command: 'node',
      args: [
        '-e',
        // The token is printed reversed: as is, it would be redacted from the output tail.
        'console.log(JSON.stringify({ cwd: process.cwd(), token: [...process.env.API_TOKEN].reverse().join(""), leak: process.env.LEAK_ME ?? null, mode: process.env.MODE }))',
        '$(whoami)',
      ],
      cwd: '/tmp',
      env: { API_TOKEN: { env: 'PING_TOKEN' }, MODE: 'fast' },
    });
    expect(JSON.parse(result.stdoutTail)).toEqual({
      cwd: '/tmp',
      token: 'n3k0t reraeB',
      leak: null,
      mode: 'fast',
    });
  });
});

describe('built-in jobs in a running scheduler', () => {
  it('fires an http job defined only in YAML and records the response status in the history', async () => {
    const files = definitionDir();
    const database = await createTestDatabase();
    const scheduler = testScheduler(database);
    try {
      const file = files.write(
        'belfry.yaml',
        yaml`
          jobs:
            ping: { type: http, url: "${baseUrl}/ok", headers: { Authorization: { env: PING_TOKEN } } }
            boom: { type: command, command: /bin/false }
          triggers:
            ping-fast: { job: ping, every: 200ms }
            boom-fast: { job: boom, every: 200ms }
        `,
      );
      const loaded = await loadDefinitions([file]);
      if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
      await registerDefinitionJobs(loaded.definitions, scheduler.registry, { env: secrets.env });
      await applyDefinitions({ db: database.db, schema: database.schema }, loaded.definitions);
      const finished = waitForEvents(scheduler, 'execution:finished', 4);
      await scheduler.start();
      await finished;
      await scheduler.stop();
      const { rows } = await sql<{ job: string; status: string; result: unknown; error: string | null }>`
        SELECT job, status, result, error FROM ${sql.table(`${database.schema}.job_history`)} WHERE status <> 'running'`.execute(
        database.db,
      );
      expect(rows.find((row) => row.job === 'ping')).toMatchObject({
        status: 'succeeded',
        result: { status: 204 },
      });
      expect(rows.find((row) => row.job === 'boom')).toMatchObject({
        status: 'failed',
        error: 'CommandJobError: /bin/false exited with code 1',
      });
      expect(received.some((request) => request.headers.authorization === 'Bearer t0k3n')).toBe(true);
    } finally {
      await scheduler.stop();
      await dropTestDatabase(database);
      files.remove();
    }
  });
});
