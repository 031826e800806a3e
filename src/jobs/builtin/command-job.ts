/**
 * The built-in `command` job: runs an executable with arguments, without a shell (no quoting, globbing
 * or injection through arguments). Succeeds on exit 0 with `{ exitCode, stdoutTail }`; otherwise fails
 * with the exit code (or signal) and the tail of stderr (stdout when stderr is empty).
 *
 * Only the last 4 KiB of each stream is kept, so a chatty command cannot fill memory or the history.
 * The child's environment is small on purpose: PATH, HOME, LANG, LC_ALL, TZ and TMPDIR from this
 * process, plus the declared `env` (literals or secret references resolved per execution). It does not
 * inherit DATABASE_URL or other secrets unless `inheritEnv: true`.
 *
 * On the job's abort signal or its own timeout the child gets SIGTERM, then SIGKILL after a grace.
 */
import { spawn } from 'node:child_process';
import type { JobClass, JobContext } from '../job.js';
import { resolveSecretMap, type SecretValue } from './secret-value.js';
import type { BuiltinJobDeps } from './http-job.js';

export const OUTPUT_TAIL_BYTES = 4_096;
const KILL_GRACE_MS = 2_000;
const PASSED_ENV = ['PATH', 'HOME', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR'];

export interface CommandJobOptions {
  command: string;
  args?: string[];
  cwd?: string;
  env?: Record<string, SecretValue>;
  /** Pass this process's whole environment to the command (default false). */
  inheritEnv?: boolean;
  timeoutMs?: number;
}

export interface CommandJobResult {
  exitCode: number;
  stdoutTail: string;
}

export class CommandJobError extends Error {
  readonly code = 'BELFRY_COMMAND_JOB_FAILED';
  constructor(
    message: string,
    readonly exitCode: number | null,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'CommandJobError';
  }
}

/** Keeps the last `limit` bytes written to it. */
class OutputTail {
  #chunks: Buffer[] = [];
  #bytes = 0;
  constructor(private readonly limit: number) {}

  push(chunk: Buffer): void {
    this.#chunks.push(chunk);
    this.#bytes += chunk.length;
    while (this.#bytes - this.#chunks[0]!.length >= this.limit) this.#bytes -= this.#chunks.shift()!.length;
  }

  text(): string {
    const all = Buffer.concat(this.#chunks);
    // Cutting inside a multi-byte character leaves a replacement char at the start; acceptable for a tail.
    return all.subarray(Math.max(0, all.length - this.limit)).toString('utf8');
  }
}

export function createCommandJobClass(
  options: CommandJobOptions,
  deps: BuiltinJobDeps,
): JobClass<Record<string, unknown>> {
  return class CommandJob {
    static readonly builtin = 'command';

    async execute(ctx: JobContext): Promise<CommandJobResult> {
      const declared = await resolveSecretMap(options.env, deps.secrets);
      const base = options.inheritEnv
        ? { ...deps.secrets.env }
        : Object.fromEntries(
            PASSED_ENV.filter((name) => deps.secrets.env[name] !== undefined).map((name) => [
              name,
              deps.secrets.env[name],
            ]),
          );
      const env = { ...base, ...declared };
      return runCommand(options, env, ctx);
    }
  };
}

function runCommand(
  options: CommandJobOptions,
  env: Record<string, string | undefined>,
  ctx: JobContext,
): Promise<CommandJobResult> {
  return new Promise((resolve, reject) => {
    if (ctx.signal.aborted) return reject(ctx.signal.reason);
    const stdout = new OutputTail(OUTPUT_TAIL_BYTES);
    const stderr = new OutputTail(OUTPUT_TAIL_BYTES);
    const child = spawn(options.command, options.args ?? [], {
      cwd: options.cwd,
      env,
      shell: false,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stopReason: 'timeout' | 'aborted' | null = null;
    let killTimer: NodeJS.Timeout | undefined;
    const stop = (reason: 'timeout' | 'aborted') => {
      if (stopReason || child.exitCode !== null) return;
      stopReason = reason;
      child.kill('SIGTERM');
      killTimer = setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS);
      killTimer.unref();
    };
    const onAbort = () => stop('aborted');
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    const timer =
      options.timeoutMs === undefined ? undefined : setTimeout(() => stop('timeout'), options.timeoutMs);
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    let spawnError: Error | undefined;
    child.on('error', (error) => {
      spawnError = error;
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      clearTimeout(killTimer);
      ctx.signal.removeEventListener('abort', onAbort);
      const errTail = stderr.text();
      const outTail = stdout.text();
      const tail = errTail.trim() ? errTail : outTail;
      if (spawnError) {
        return reject(
          new CommandJobError(
            `could not run ${options.command}: ${(spawnError as NodeJS.ErrnoException).code ?? spawnError.message}`,
            null,
            { cause: spawnError },
          ),
        );
      }
      if (stopReason === 'aborted')
        return reject(ctx.signal.reason ?? new CommandJobError(`${options.command} was stopped`, null));
      if (stopReason === 'timeout') {
        return reject(
          new CommandJobError(
            `${options.command} timed out after ${options.timeoutMs} ms and was killed${tail ? `; output tail:\n${tail}` : ''}`,
            null,
          ),
        );
      }
      if (code === 0) return resolve({ exitCode: 0, stdoutTail: outTail });
      const how = code === null ? `was killed by ${signal}` : `exited with code ${code}`;
      reject(new CommandJobError(`${options.command} ${how}${tail ? `; output tail:\n${tail}` : ''}`, code));
    });
  });
}
