/**
 * The README's "Try it" steps, run as written in a real terminal (issue #19): `npm start` in one tmux
 * window; the commands of the README's block in a second window with no DATABASE_URL (they find the
 * local cluster through `.belfry/cluster.json`); then the keys the README names, pressed in the first
 * window (`k`: a replica killed, declared dead and restarted, and firing again; `a`: the audit passes);
 * then Ctrl-C: exit 0, and the connection file is gone.
 *
 * The project is a scratch folder that looks like a checkout (package.json, bin/, examples/,
 * node_modules/ linked to the repository's), so the test's `.belfry/` and the cluster in it are
 * nobody else's: other tests run CLI commands in the repository without DATABASE_URL.
 */
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  lstatSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../../../src/dev/embedded-postgres.js';
import { REPO } from './cli-process.js';

const hasTmux = spawnSync('tmux', ['-V']).status === 0;
if (!hasTmux) {
  if (process.env.CI === 'true') throw new Error('tmux is required under CI (apt-get install tmux)');
  console.warn('[try-it test] skipped: tmux is not installed (apt-get install tmux)');
}

const socket = `belfry-try-it-${process.pid}`;
const project = mkdtempSync(join(tmpdir(), 'belfry-try-it-'));
const devLog = join(project, 'dev.log');
// The terminal a new user opens: no database settings of the test run's (and no BELFRY_* at all).
const userEnv = Object.fromEntries(
  Object.entries(process.env).filter(([name]) => name !== 'DATABASE_URL' && !name.startsWith('BELFRY_')),
);
const tmux = (...args: string[]) =>
  spawnSync('tmux', ['-L', socket, ...args], { encoding: 'utf8', env: userEnv });

afterAll(() => {
  tmux('kill-server');
  const data = join(project, '.belfry', 'pg');
  if (existsSync(data) && lstatSync(data).isSymbolicLink())
    rmSync(readlinkSync(data), { recursive: true, force: true });
  rmSync(project, { recursive: true, force: true });
});

/** The README's "Try it" block: the commands of its code block, and the keys its next paragraph presses. */
function tryItSteps(readme: string): { commands: string[]; keys: string[] } {
  const start = readme.indexOf('**Try it.**');
  if (start < 0) throw new Error('README.md has no "**Try it.**" paragraph');
  const parts = /```sh\n([\s\S]*?)```\n\n([\s\S]*?)\n\n/.exec(readme.slice(start));
  if (!parts) throw new Error('the "Try it" paragraph has no sh block followed by a paragraph');
  const commands = parts[1]!
    .split('\n')
    .map((line) => line.replace(/#.*/, '').trim())
    .filter(Boolean);
  const keys = [...parts[2]!.matchAll(/(?:press|then) `(\w)`/g)].map((match) => match[1]!);
  return { commands, keys };
}

function plain(text: string): string {
  return text.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/\r/g, '');
}

async function until(file: string, pattern: RegExp, timeoutMs: number, from = 0): Promise<string> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const text = existsSync(file) ? plain(readFileSync(file, 'utf8')).slice(from) : '';
    if (pattern.test(text)) return text;
    if (performance.now() > deadline) throw new Error(`no ${pattern} in ${file}:\n${text.slice(-3000)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Runs one command in the second window; its output and exit code land in a file. */
async function inSecondTerminal(command: string, index: number): Promise<{ output: string; code: number }> {
  const out = join(project, `command-${index}.txt`);
  tmux('send-keys', '-t', 'try:cli', `${command} > ${out} 2>&1; echo EXIT=$? >> ${out}`, 'Enter');
  const text = await until(out, /EXIT=\d+/, 30_000);
  return { output: text, code: Number(/EXIT=(\d+)/.exec(text)![1]) };
}

describe.skipIf(!hasTmux)('the README quick start, in a terminal', () => {
  it('finds the local cluster, kills and restarts a replica, passes the audit, and stops on Ctrl-C', async () => {
    const { commands, keys } = tryItSteps(readFileSync(join(REPO, 'README.md'), 'utf8'));
    expect(commands).toEqual(['npx belfry history --since 1m', 'npx belfry cluster']);
    expect(keys).toEqual(['k', 'a']);

    copyFileSync(join(REPO, 'package.json'), join(project, 'package.json'));
    for (const link of ['bin', 'examples', 'node_modules', 'scripts', 'ui'])
      symlinkSync(join(REPO, link), join(project, link));
    const shell = 'bash --norc --noprofile -i';
    const session = tmux(
      'new-session',
      '-d',
      '-s',
      'try',
      '-n',
      'dev',
      '-x',
      '200',
      '-y',
      '50',
      '-c',
      project,
      shell,
    );
    expect(session.status, session.stderr).toBe(0);
    tmux('new-window', '-d', '-t', 'try', '-n', 'cli', '-c', project, shell);
    // Everything the first terminal shows, as it shows it (stdin and stdout stay the terminal's).
    tmux('pipe-pane', '-t', 'try:dev', '-o', `cat >> ${devLog}`);
    const port = await freePort();
    tmux('send-keys', '-t', 'try:dev', `npm start -- --port ${port} --admin-port 0; echo EXIT=$?`, 'Enter');
    const banner = await until(devLog, /✓ \S+\s+succeeded/, 90_000);
    for (const command of commands) expect(banner).toContain(command);
    expect(banner).toMatch(/keys: k kill a replica · s stop the leader past its lease · h history · a audit/);

    const [history, cluster] = [
      await inSecondTerminal(commands[0]!, 0),
      await inSecondTerminal(commands[1]!, 1),
    ];
    expect(history.code, history.output).toBe(0);
    expect(history.output).toMatch(/^using the local cluster in \.belfry\/$/m);
    expect(history.output).toMatch(/\bsucceeded\b/);
    expect(cluster.code, cluster.output).toBe(0);
    expect(cluster.output).toMatch(/^leader: replica-\d \(epoch \d+\)$/m);
    expect(cluster.output.match(/^replica-\d .* active /gm)).toHaveLength(3);

    // k: one replica killed, the leader declares it dead, it restarts and fires again.
    const beforeKill = plain(readFileSync(devLog, 'utf8')).length;
    tmux('send-keys', '-t', 'try:dev', keys[0]!);
    const killed = await until(devLog, /k: killed (replica-\d) \(SIGKILL/, 10_000, beforeKill);
    const victim = /k: killed (replica-\d)/.exec(killed)![1]!;
    await until(devLog, new RegExp(`declared ${victim} dead`), 30_000, beforeKill);
    const restarted = await until(
      devLog,
      new RegExp(`k: restarted ${victim} \\(pid \\d+\\)`),
      30_000,
      beforeKill,
    );
    const restartAt = beforeKill + restarted.search(/k: restarted/);
    await until(devLog, new RegExp(`${victim}\\s+✓ \\S+\\s+succeeded`), 40_000, restartAt);

    // a: the audit of the session passes.
    tmux('send-keys', '-t', 'try:dev', keys[1]!);
    await until(devLog, /a: audit passed: every fire exactly once/, 30_000, restartAt);

    tmux('send-keys', '-t', 'try:dev', 'C-c');
    const end = await until(devLog, /EXIT=\d+/, 60_000, restartAt);
    expect(end).toMatch(/stopped; data kept for the next run/);
    expect(end).not.toMatch(/second Ctrl-C|did not stop cleanly/);
    expect(end).toMatch(/EXIT=0/);
    expect(existsSync(join(project, '.belfry', 'cluster.json'))).toBe(false);
  }, 180_000);
});
