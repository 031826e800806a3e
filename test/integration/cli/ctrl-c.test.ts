/**
 * One Ctrl-C in a real terminal stops `npm start` gracefully. The terminal sends SIGINT to the whole
 * foreground process group (npm, belfry dev) and npm forwards its own copy; the replicas must still get
 * exactly one stop request each: drain, resign, check out, exit 0, and the next start finds no dead
 * replica to declare. The terminal is a tmux pane running an interactive bash.
 */
import { spawnSync } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { existsSync, lstatSync, mkdtempSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../../../src/dev/embedded-postgres.js';
import { belfry, REPO } from './cli-process.js';
import { isAlive, replicasLeftAfter } from './replica-processes.js';

const hasTmux = spawnSync('tmux', ['-V']).status === 0;
if (!hasTmux) {
  if (process.env.CI === 'true') throw new Error('tmux is required under CI (apt-get install tmux)');
  console.warn('[ctrl-c test] skipped: tmux is not installed (apt-get install tmux)');
}

const socket = `belfry-test-${process.pid}`;
const folder = mkdtempSync(join(tmpdir(), 'belfry-ctrl-c-'));
const tmux = (...args: string[]) => spawnSync('tmux', ['-L', socket, ...args], { encoding: 'utf8' });

afterAll(() => {
  tmux('kill-server');
  // A replica left behind by a failed run of the tee test: it may ignore SIGTERM (the bug it catches).
  for (const pid of leftOverReplicas) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  const data = join(folder, 'pg');
  if (existsSync(data) && lstatSync(data).isSymbolicLink())
    rmSync(readlinkSync(data), { recursive: true, force: true });
  rmSync(folder, { recursive: true, force: true });
});

async function until(log: string, pattern: RegExp, timeoutMs: number): Promise<string> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const text = existsSync(log) ? readFileSync(log, 'utf8') : '';
    if (pattern.test(text)) return text;
    if (performance.now() > deadline) {
      // The fire lines crowd out the rest: show the others (starts, stops, exits, errors) in full.
      const others = text.split('\n').filter((line) => !/[✓✗] \S|will retry/.test(line));
      throw new Error(`no ${pattern} in ${log}:\n${others.join('\n').slice(-6000)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Types `npm start …` into the pane, waits for fires, presses Ctrl-C once, returns the whole output. */
async function startFireAndCtrlC(port: number, log: string): Promise<string> {
  const command = `npm start -- --port ${port} --admin-port 0 --data-dir ${join(folder, 'pg')} > ${log} 2>&1; echo EXIT=$? >> ${log}`;
  tmux('send-keys', '-t', 'belfry', command, 'Enter');
  await until(log, /✓ \S+\s+succeeded/, 90_000);
  // All three replicas running, so this is the stop of a running cluster: a Ctrl-C while one is still
  // starting is the other test's case (it exits 0 without a "scheduler stopped" line of its own).
  await until(log, /(scheduler started[\s\S]*){3}/, 60_000);
  tmux('send-keys', '-t', 'belfry', 'C-c');
  return until(log, /EXIT=\d+/, 60_000);
}

describe.skipIf(!hasTmux)('Ctrl-C in a terminal', () => {
  it('stops belfry dev gracefully with exit code 0, and the next start declares nobody dead', async () => {
    const started = tmux(
      'new-session',
      '-d',
      '-s',
      'belfry',
      '-x',
      '200',
      '-y',
      '50',
      '-c',
      REPO,
      'bash --norc --noprofile -i',
    );
    expect(started.status, started.stderr).toBe(0);
    const port = await freePort();

    const first = await startFireAndCtrlC(port, join(folder, 'first.log'));
    expect(first).not.toMatch(/second signal|could not resign or check out|declared dead/);
    expect(first).toMatch(/EXIT=0/);
    expect(first.match(/scheduler stopped/g)).toHaveLength(3);
    expect(first).toMatch(/stopped; data kept for the next run/);

    const second = await startFireAndCtrlC(port, join(folder, 'second.log'));
    expect(second).not.toMatch(/declared dead|second signal/);
    expect(second).toMatch(/EXIT=0/);
  }, 240_000);
});

const leftOverReplicas: number[] = [];

function refused(port: number): Promise<boolean> {
  return new Promise<boolean>((resolve) =>
    connect(port, '127.0.0.1')
      .on('connect', function (this: Socket) {
        this.destroy();
        resolve(false);
      })
      .on('error', () => resolve(true)),
  );
}

describe.skipIf(!hasTmux)('Ctrl-C with npm start piped into tee', () => {
  it('stops everything gracefully although the same Ctrl-C ended tee', async () => {
    const started = tmux(
      'new-session',
      '-d',
      '-s',
      'tee',
      '-x',
      '200',
      '-y',
      '50',
      '-c',
      REPO,
      'bash --norc --noprofile -i',
    );
    expect(started.status, started.stderr).toBe(0);
    const port = await freePort();
    const log = join(folder, 'tee.log');
    const status = join(folder, 'tee.status');
    // The status is written inside the piped group: bash skips what follows a pipeline that a Ctrl-C
    // ended (tee dies of the SIGINT), but not the rest of a group whose command exited normally.
    const command = `{ npm start -- --port ${port} --admin-port 0 --data-dir ${join(folder, 'pg')}; echo EXIT=$? > ${status}; } 2>&1 | tee ${log}`;
    tmux('send-keys', '-t', 'tee', command, 'Enter');
    await until(log, /✓ \S+\s+succeeded/, 90_000);
    await until(log, /(scheduler started[\s\S]*){3}/, 60_000);
    tmux('send-keys', '-t', 'tee', 'C-c');
    const pressedAt = performance.now();
    // tee died with the Ctrl-C, so its log ends there; npm's exit code is belfry dev's.
    const exit = await until(status, /EXIT=\d+/, 60_000);
    // Within the replicas' shutdown timeout (10 s in belfry dev), plus the server's stop.
    expect(performance.now() - pressedAt).toBeLessThan(15_000);
    expect(await refused(port), 'the embedded PostgreSQL stopped').toBe(true);
    // Give a replica that outlived belfry dev the time its own shutdown timeout (10 s) allows.
    leftOverReplicas.push(...(await replicasLeftAfter(port, 15_000)));
    expect(leftOverReplicas, 'replicas left running').toEqual([]);
    expect(exit).toMatch(/EXIT=0/); // belfry dev finished its graceful stop (an unhandled EPIPE made it 1)
    // The replicas checked out before the server stopped: the next start declares nobody dead.
    if (tmux('has-session', '-t', 'belfry').status !== 0)
      tmux('new-session', '-d', '-s', 'belfry', '-c', REPO, 'bash --norc --noprofile -i');
    const next = await startFireAndCtrlC(port, join(folder, 'after-tee.log'));
    expect(next).not.toMatch(/declared dead/);
    expect(next).toMatch(/EXIT=0/);
  }, 240_000);
});

describe('Ctrl-C while belfry dev is still starting', () => {
  it('stops the embedded server it was starting and exits 0', async () => {
    const port = await freePort();
    const dataDir = join(folder, 'early', 'pg');
    const run = belfry(['dev', '--data-dir', dataDir, '--port', String(port), '--admin-port', '0'], {
      ownProcessGroup: true,
    });
    await run.waitForOutput(/starting embedded PostgreSQL/);
    process.kill(-run.child.pid!, 'SIGINT');
    expect(await run.exited).toBe(0);
    expect(run.output().stdout).toMatch(/stopped before the replicas started/);
    expect(await refused(port)).toBe(true);
    if (existsSync(dataDir) && lstatSync(dataDir).isSymbolicLink())
      rmSync(readlinkSync(dataDir), { recursive: true, force: true });
  }, 60_000);
});
