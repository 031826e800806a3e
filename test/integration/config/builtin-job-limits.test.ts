/**
 * The hardening of the built-in jobs (issue #11, items 7 to 9): command jobs stop their whole process
 * group and settle on exit; http jobs read a capped body, keep to their origin and time out per phase;
 * resolved secrets never reach error text, stored output or the log.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { sql } from 'kysely';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createCommandJobClass, DEFAULT_COMMAND_TIMEOUT_MS } from '../../../src/jobs/builtin/command-job.js';
import { createHttpJobClass, MAX_RESPONSE_BYTES } from '../../../src/jobs/builtin/http-job.js';
import type { SecretSources } from '../../../src/jobs/builtin/secret-value.js';
import { attachExecutionLog } from '../../../src/cli/execution-log.js';
import { builtinJobContext, builtinJobRunners, failure } from '../../support/builtin-job-runner.js';
import { createTestDatabase, dropTestDatabase } from '../../support/schema.js';
import { testScheduler, waitForEvents } from '../../support/scheduler.js';

const SECRET = 'sup3r-s3cret-t0ken';
const secrets: SecretSources = {
  env: {
    PATH: process.env.PATH,
    API_TOKEN: SECRET,
    AUTH: `Bearer ${SECRET}`,
  },
};

let server: Server;
let base: string;
/** The same server under another origin (localhost instead of 127.0.0.1). */
let otherOrigin: string;
const received: { url: string; headers: IncomingHttpHeaders }[] = [];

beforeAll(async () => {
  server = createServer((request, response) => {
    received.push({ url: request.url!, headers: request.headers });
    const url = new URL(request.url!, 'http://x');
    switch (url.pathname) {
      case '/ok':
        return response.writeHead(200).end('fine');
      case '/echo-url':
        return response.writeHead(500).end(`you asked for ${request.url}`);
      case '/endless': {
        // An endless 500 body: a job that buffered it would never finish.
        response.writeHead(500);
        const chunk = 'x'.repeat(16 * 1024);
        const pump = () => {
          while (!response.destroyed && response.write(chunk));
          if (!response.destroyed) response.once('drain', pump);
        };
        return pump();
      }
      case '/silent':
        return; // accepts the connection, never answers
      case '/dribble':
        response.writeHead(200);
        response.write('a');
        return; // the head came, the body never ends
      case '/redirect':
        return response.writeHead(302, { location: url.searchParams.get('to')! }).end();
      default:
        return response.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  base = `http://127.0.0.1:${port}`;
  otherOrigin = `http://localhost:${port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});
afterEach(() => {
  vi.useRealTimers();
});

const { runHttp, runCommand } = builtinJobRunners(secrets);

/** True once no process of the group is left (within 5 s: the SIGKILL comes after a 2 s grace). */
async function groupGone(pgid: number): Promise<boolean> {
  for (let i = 0; i < 100; i += 1) {
    try {
      process.kill(-pgid, 0);
    } catch {
      return true;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return false;
}

// A pipeline whose every member ignores SIGTERM (an ignored signal stays ignored across exec).
const STUBBORN_PIPELINE = ['-c', 'trap "" TERM; echo "pgid $$"; sleep 30 | cat'];

describe('the command job stops the whole process group', () => {
  it('kills a pipeline that ignores SIGTERM at its timeout (SIGKILL after the grace)', async () => {
    const started = performance.now();
    const error = await failure(runCommand({ command: 'bash', args: STUBBORN_PIPELINE, timeoutMs: 300 }));
    expect(error.message).toMatch(/^bash timed out after 300 ms and was killed; output tail:\npgid \d+/);
    expect(performance.now() - started).toBeLessThan(5_000);
    const pgid = Number(/pgid (\d+)/.exec(error.message)![1]);
    expect(await groupGone(pgid)).toBe(true);
  });

  it('kills it on abort too', async () => {
    const controller = new AbortController();
    const running = runCommand({ command: 'bash', args: STUBBORN_PIPELINE }, controller.signal);
    setTimeout(() => controller.abort(new Error('shutdown deadline')), 300);
    const started = performance.now();
    await expect(running).rejects.toThrow('shutdown deadline');
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it('settles when the command exits although a grandchild holds its output open, then stops the grandchild', async () => {
    const started = performance.now();
    const result = await runCommand({
      command: 'bash',
      args: ['-c', '(trap "" TERM; sleep 30) & echo "pgid $$"'],
    });
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(result.exitCode).toBe(0);
    const pgid = Number(/pgid (\d+)/.exec(result.stdoutTail)![1]);
    expect(await groupGone(pgid)).toBe(true);
  });

  it('applies a default timeout of one hour when none is set', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const running = failure(runCommand({ command: 'sleep', args: ['30'] }));
    // Let the spawn happen before moving the clock.
    await vi.waitFor(() => expect(vi.getTimerCount()).toBeGreaterThan(0), { interval: 10 });
    vi.advanceTimersByTime(DEFAULT_COMMAND_TIMEOUT_MS);
    vi.useRealTimers();
    expect((await running).message).toBe(
      `sleep timed out after ${DEFAULT_COMMAND_TIMEOUT_MS} ms and was killed`,
    );
    expect(DEFAULT_COMMAND_TIMEOUT_MS).toBe(3_600_000);
  });
});

describe('the command job keeps resolved secrets out of what it reports', () => {
  it('redacts them from the output tail and the error message', async () => {
    const env = { API_TOKEN: { env: 'API_TOKEN' } };
    const ok = await runCommand({ command: 'bash', args: ['-c', 'echo "token=$API_TOKEN"'], env });
    expect(ok.stdoutTail).toBe('token=[redacted]\n');
    const error = await failure(
      runCommand({ command: 'bash', args: ['-c', 'echo "denied for $API_TOKEN" >&2; exit 2'], env }),
    );
    expect(error.message).toBe('bash exited with code 2; output tail:\ndenied for [redacted]\n');
    expect(error.message).not.toContain(SECRET);
  });
});

describe('the http job limits what it reads and where it goes', () => {
  it(`reads at most ${MAX_RESPONSE_BYTES} bytes of a body that never ends`, async () => {
    const error = await failure(runHttp({ url: `${base}/endless`, timeoutMs: 4_000 }));
    expect(error.message).toMatch(/answered 500: x{500}$/);
  });

  it('refuses a redirect to another origin unless allowed, and never sends secret headers there', async () => {
    const count = received.length;
    const headers = { Authorization: { env: 'AUTH' }, 'X-Plain': 'visible' };
    const away = `${base}/redirect?to=${encodeURIComponent(`${otherOrigin}/ok`)}`;
    const refused = await failure(runHttp({ url: away, headers }));
    expect(refused.message).toMatch(
      /a redirect to another origin \(http:\/\/localhost:\d+\); set redirects: any/,
    );
    expect(received.slice(count).map((r) => r.url)).toEqual([expect.stringMatching(/^\/redirect/)]);

    expect(await runHttp({ url: away, headers, redirects: 'any' })).toMatchObject({ status: 200 });
    const followed = received.at(-1)!;
    expect(followed.url).toBe('/ok');
    expect(followed.headers.authorization).toBeUndefined();
    expect(followed.headers['x-plain']).toBe('visible');

    const home = `${base}/redirect?to=${encodeURIComponent('/ok')}`;
    expect(await runHttp({ url: home, headers })).toMatchObject({ status: 200 });
    expect(received.at(-1)!.headers.authorization).toBe(`Bearer ${SECRET}`);

    await expect(runHttp({ url: home, redirects: 'none' })).rejects.toThrow(/answered 302/);
  });

  it('times out on connecting (no answer) and on the body separately', async () => {
    await expect(runHttp({ url: `${base}/silent`, connectTimeoutMs: 200 })).rejects.toThrow(
      /no connection and answer within 200 ms/,
    );
    await expect(runHttp({ url: `${base}/dribble`, bodyTimeoutMs: 200 })).rejects.toThrow(
      /body not received within 200 ms/,
    );
  });

  it('redacts a secret URL and secret headers from its errors', async () => {
    const withSecret: SecretSources = { env: { ...secrets.env, URL: `${base}/echo-url?token=${SECRET}` } };
    const job = createHttpJobClass({ url: { env: 'URL' } }, { secrets: withSecret });
    const error = await failure(new job().execute(builtinJobContext()) as Promise<unknown>);
    expect(error.message).toBe('GET {env: URL} answered 500: you asked for /echo-url?token=[redacted]');
  });
});

describe('secrets in a running scheduler', () => {
  it('never reach the stored history or the log, only [redacted] does', async () => {
    let logged = '';
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        logged += chunk.toString();
        done();
      },
    });
    const database = await createTestDatabase();
    const logger = pino({ level: 'debug' }, sink);
    const scheduler = testScheduler(database, { logger });
    // What `belfry start` logs about executions.
    attachExecutionLog(scheduler, logger);
    try {
      const env = { API_TOKEN: { env: 'API_TOKEN' } };
      scheduler.registerJob(
        'leaky-ok',
        createCommandJobClass({ command: 'bash', args: ['-c', 'echo "using $API_TOKEN"'], env }, { secrets }),
      );
      scheduler.registerJob(
        'leaky-fail',
        createCommandJobClass(
          { command: 'bash', args: ['-c', 'echo "rejected $API_TOKEN" >&2; exit 1'], env },
          { secrets },
        ),
      );
      await scheduler.start();
      const finished = waitForEvents(scheduler, 'execution:finished', 2);
      await scheduler.fireNow('leaky-ok');
      await scheduler.fireNow('leaky-fail');
      await finished;
      await scheduler.stop();
      const { rows } = await sql<{ job: string; result: unknown; error: string | null }>`
        SELECT job, result, error FROM ${sql.table(`${database.schema}.job_history`)}`.execute(database.db);
      expect(rows.find((row) => row.job === 'leaky-ok')?.result).toEqual({
        exitCode: 0,
        stdoutTail: 'using [redacted]\n',
      });
      expect(rows.find((row) => row.job === 'leaky-fail')?.error).toMatch(/rejected \[redacted\]/);
      expect(logged).toMatch(/rejected \[redacted\]/);
      expect(JSON.stringify(rows) + logged).not.toContain(SECRET);
    } finally {
      await scheduler.stop();
      await dropTestDatabase(database);
    }
  });
});
