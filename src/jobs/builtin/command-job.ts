/**
 * The built-in `command` job: runs an executable with arguments, without a shell (no quoting, globbing
 * or injection through arguments). Succeeds on exit 0 with `{ exitCode, stdoutTail }`; otherwise fails
 * with the exit code (or signal) and the tail of stderr (stdout when stderr is empty).
 *
 * Only the last 4 KiB of each stream is kept, so a chatty command cannot fill memory or the history.
 * The child's environment is small on purpose: PATH, HOME, LANG, LC_ALL, TZ and TMPDIR from this
 * process, plus the declared `env` (literals or secret references resolved per execution). It does not
 * inherit DATABASE_URL or other secrets unless `inheritEnv: true`. Values resolved from secret
 * references are replaced by `[redacted]` in the output tails and error messages, which end up in the
 * history and the logs.
 *
 * Stopping (process-group.ts): the command runs in its own process group, so on the job's abort signal
 * or its timeout (default one hour) the whole group gets SIGTERM, then SIGKILL after a grace. Killing
 * only the direct child would leave `bash -c "a | b"`'s pipeline running, holding the output pipes and
 * with them the executor slot. The job settles on the child's `exit`, giving the streams a short grace
 * to drain: a grandchild that keeps the pipes open cannot hold the execution past its end.
 */
import { spawn } from 'node:child_process';
import type { JobClass, JobContext } from '../job.js';
import { ProcessGroup } from './process-group.js';
import { resolveSecretMap, secretRedactor, type SecretValue } from './secret-value.js';
import type { BuiltinJobDeps } from './http-job.js';
import { BelfryError } from '../../errors/belfry-error.js';

export const OUTPUT_TAIL_BYTES = 4_096;
/** Applied when neither the job nor the command sets a timeout: a hung command must not hold a slot forever. */
export const DEFAULT_COMMAND_TIMEOUT_MS = 60 * 60_000;
/** Between SIGTERM to the group and SIGKILL. */
export const KILL_GRACE_MS = 2_000;
/** How long after the child's exit its output pipes may stay open before the job settles anyway. */
export const STREAM_GRACE_MS = 500;
const PASSED_ENV = ['PATH', 'HOME', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR'];

export interface CommandJobOptions {
  command: string;
  args?: string[];
  cwd?: string;
  env?: Record<string, SecretValue>;
  /** Pass this process's whole environment to the command (default false). */
  inheritEnv?: boolean;
  /** Default DEFAULT_COMMAND_TIMEOUT_MS. */
  timeoutMs?: number;
}

export interface CommandJobResult {
  exitCode: number;
  stdoutTail: string;
}

export class CommandJobError extends BelfryError {
  constructor(
    message: string,
    readonly exitCode: number | null,
    options?: ErrorOptions,
  ) {
    super('BELFRY_ERR_COMMAND_JOB_FAILED', message, options);
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
      const redact = secretRedactor(
        Object.entries(options.env ?? {})
          .filter(([, value]) => typeof value !== 'string')
          .map(([name]) => declared[name]!),
      );
      return runCommand(options, env, ctx, redact);
    }
  };
}

function runCommand(
  options: CommandJobOptions,
  env: Record<string, string | undefined>,
  ctx: JobContext,
  redact: (text: string) => string,
): Promise<CommandJobResult> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    if (ctx.signal.aborted) return reject(ctx.signal.reason);
    const stdout = new OutputTail(OUTPUT_TAIL_BYTES);
    const stderr = new OutputTail(OUTPUT_TAIL_BYTES);
    const child = spawn(options.command, options.args ?? [], {
      cwd: options.cwd,
      env,
      shell: false,
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group, so a stop reaches every process the command started.
      detached: true,
    });
    const group = new ProcessGroup(child, KILL_GRACE_MS);
    let stopReason: 'timeout' | 'aborted' | null = null;
    const stop = (reason: 'timeout' | 'aborted') => {
      if (stopReason || settled) return;
      stopReason = reason;
      group.terminate();
    };
    const onAbort = () => stop('aborted');
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    const timer = setTimeout(() => stop('timeout'), timeoutMs);
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    let spawnError: Error | undefined;
    let settled = false;
    let streamTimer: NodeJS.Timeout | undefined;

    const settle = (code: number | null, signal: NodeJS.Signals | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(streamTimer);
      ctx.signal.removeEventListener('abort', onAbort);
      // Whatever of the group outlived the command (a background grandchild holding the pipes) goes too.
      if (!spawnError) group.killLeftovers();
      child.stdout.destroy();
      child.stderr.destroy();
      const errTail = redact(stderr.text());
      const outTail = redact(stdout.text());
      const tail = errTail.trim() ? errTail : outTail;
      const withTail = tail ? `; output tail:\n${tail}` : '';
      if (spawnError) {
        const reason = (spawnError as NodeJS.ErrnoException).code ?? redact(spawnError.message);
        return reject(new CommandJobError(`could not run ${options.command}: ${reason}`, null));
      }
      if (stopReason === 'aborted')
        return reject(ctx.signal.reason ?? new CommandJobError(`${options.command} was stopped`, null));
      if (stopReason === 'timeout') {
        return reject(
          new CommandJobError(
            `${options.command} timed out after ${timeoutMs} ms and was killed${withTail}`,
            null,
          ),
        );
      }
      if (code === 0) return resolve({ exitCode: 0, stdoutTail: outTail });
      const how = code === null ? `was killed by ${signal}` : `exited with code ${code}`;
      reject(new CommandJobError(`${options.command} ${how}${withTail}`, code));
    };

    child.on('error', (error) => {
      spawnError = error;
      // A failed spawn may emit no 'exit'; 'close' follows once the (never opened) pipes close.
    });
    child.on('exit', (code, signal) => {
      streamTimer = setTimeout(() => settle(code, signal), STREAM_GRACE_MS);
    });
    child.on('close', (code, signal) => settle(code, signal));
  });
}
