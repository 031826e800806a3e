/** Runs `belfry` (or `npm start`) as a real process for the CLI tests, and waits on its output. */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const REPO = fileURLToPath(new URL('../../..', import.meta.url));
export const BIN = fileURLToPath(new URL('../../../bin/belfry.js', import.meta.url));

export interface CliRun {
  child: ChildProcess;
  /** Exit code, or 128 + signal number when a signal ended it. */
  exited: Promise<number>;
  output(): { stdout: string; stderr: string };
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<void>;
}

export function runCli(
  command: string[],
  options: { env?: Record<string, string>; cwd?: string; ownProcessGroup?: boolean } = {},
): CliRun {
  const child = spawn(command[0]!, command.slice(1), {
    cwd: options.cwd ?? REPO,
    env: { ...process.env, BELFRY_HTTP_PORT: '0', ...options.env },
    detached: options.ownProcessGroup ?? false,
  });
  let stdout = '';
  let stderr = '';
  const waiters = new Set<() => void>();
  const wake = () => waiters.forEach((waiter) => waiter());
  child.stdout!.on('data', (chunk) => ((stdout += chunk), wake()));
  child.stderr!.on('data', (chunk) => ((stderr += chunk), wake()));
  const exited = new Promise<number>((resolve) =>
    child.on('close', (code, signal) => resolve(code ?? 128 + (signal === 'SIGINT' ? 2 : 15))),
  );
  return {
    child,
    exited,
    output: () => ({ stdout, stderr }),
    waitForOutput(pattern, timeoutMs = 60_000) {
      return new Promise((resolve, reject) => {
        const done = (error?: Error) => {
          clearTimeout(timer);
          waiters.delete(check);
          if (error) reject(error);
          else resolve();
        };
        const failure = (why: string) =>
          new Error(`${why} before ${pattern} showed:\n${(stdout + stderr).slice(-4000)}`);
        const check = () => {
          if (pattern.test(stdout + stderr)) done();
          else if (child.exitCode !== null || child.signalCode !== null) done(failure('the process exited'));
        };
        const timer = setTimeout(() => done(failure(`${timeoutMs} ms passed`)), timeoutMs);
        waiters.add(check);
        void exited.then(check);
        check();
      });
    },
  };
}

export function belfry(args: string[], options: Parameters<typeof runCli>[1] = {}): CliRun {
  return runCli([process.execPath, BIN, ...args], options);
}
