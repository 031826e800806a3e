/**
 * A process whose stdout reader has gone away (the `belfry dev` that read a replica's output died, or
 * `npm start | tee` and Ctrl-C ended tee, or `belfry dev | head`) must still stop and exit: pino's
 * default destination retried the failed (EPIPE) write every 100 ms for ever in its exit flush, so such
 * a replica hung in process.exit and ignored SIGTERM; and an unhandled EPIPE on stdout ended `belfry
 * dev` in the middle of its graceful stop. The tee case in a real terminal is in ctrl-c.test.ts.
 */
import { spawn } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, readlinkSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../../../src/dev/embedded-postgres.js';
import { belfry, REPO } from './cli-process.js';
import { isAlive, replicasLeftAfter } from './replica-processes.js';

const LOGGER = join(REPO, 'src', 'cli', 'logger.ts');
const OUTPUT = join(REPO, 'src', 'cli', 'output.ts');

const folder = mkdtempSync(join(tmpdir(), 'belfry-broken-pipe-'));
const leftOver: number[] = [];

afterAll(() => {
  for (const pid of leftOver) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  const data = join(folder, 'pg');
  if (existsSync(data) && lstatSync(data).isSymbolicLink())
    rmSync(readlinkSync(data), { recursive: true, force: true });
  rmSync(folder, { recursive: true, force: true });
});

describe('stdout reader gone', () => {
  it('a replica-like process still stops on SIGTERM and exits 0', async () => {
    const script = `
      const { createLogger } = await import(${JSON.stringify(LOGGER)});
      const { dropOutputWhenReaderGone } = await import(${JSON.stringify(OUTPUT)});
      dropOutputWhenReaderGone(); // as runReplica does
      const logger = createLogger({ level: 'info' });
      process.on('SIGTERM', () => {
        // Fails with EPIPE: unhandled, that 'error' would end the process with 1.
        process.stderr.write('belfry: stopping\\n');
        // The graceful stop's last lines, then exit in the same tick: pino's default destination had
        // them queued behind a write in flight, and its exit flush retried them for ever.
        setTimeout(() => {
          for (let i = 0; i < 5; i++) logger.info({ i }, 'stopped');
          process.exit(0);
        }, 200);
      });
      logger.info('ready');
      setInterval(() => {}, 1_000);`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: REPO,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    await new Promise((resolve) => child.stdout.once('data', resolve));
    // The reader goes away: this end of both sockets closes, so the child's writes fail with EPIPE.
    child.stdout.destroy();
    child.stderr.destroy();
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    const timeout = new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 10_000));
    const result = await Promise.race([exited, timeout]);
    if (result === 'hung') child.kill('SIGKILL');
    expect(result).toBe(0);
  }, 30_000);
});

describe('belfry dev whose output reader goes away (`belfry dev | head`)', () => {
  it('stops its replicas and its server gracefully, exits 0, and prints no stack trace', async () => {
    const port = await freePort();
    const run = belfry(
      ['dev', '--port', String(port), '--admin-port', '0', '--data-dir', join(folder, 'pg')],
      {
        ownProcessGroup: true,
      },
    );
    try {
      await run.waitForOutput(/✓ \S+\s+succeeded/, 90_000);
      await run.waitForOutput(/(scheduler started[\s\S]*){3}/, 60_000);
      // What `head` does once it has its lines: it exits, and the next write to the pipe fails (EPIPE).
      // Only stdout goes; stderr still reaches the terminal (here, this test).
      run.child.stdout!.destroy();
      const goneAt = performance.now();
      const timeout = new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 30_000));
      const code = await Promise.race([run.exited, timeout]);
      expect(code, run.output().stderr).toBe(0);
      // Noticed at the next fire line (a second or two), then the replicas' graceful stop.
      expect(performance.now() - goneAt).toBeLessThan(20_000);
      const { stderr } = run.output();
      expect(stderr).toMatch(/the reader of its output is gone; stopping gracefully/);
      expect(stderr).not.toMatch(/EPIPE|^\s+at /m);
      leftOver.push(...(await replicasLeftAfter(port, 5_000)));
      expect(leftOver, 'replicas left running').toEqual([]);
      const refused = await new Promise<boolean>((resolve) =>
        connect(port, '127.0.0.1')
          .on('connect', function (this: Socket) {
            this.destroy();
            resolve(false);
          })
          .on('error', () => resolve(true)),
      );
      expect(refused, 'the embedded PostgreSQL stopped').toBe(true);
    } finally {
      if (run.child.exitCode === null) process.kill(-run.child.pid!, 'SIGKILL');
    }
  }, 180_000);
});
