/**
 * Child processes of a benchmark (replicas, peer workers) and the IPC between them and the orchestrator.
 *
 * Each child is a TypeScript entry point, run compiled (compiled.ts), talks over the fork IPC channel
 * in `{ type, ... }` messages, says `{ type: 'ready' }` once it is up, answers requests carrying an `id`
 * with `{ type: 'reply', id, ... }`, and exits when the channel closes (so an orchestrator killed with
 * SIGKILL does not leave workers behind). Output goes to a log file per child, not to the terminal.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { onCleanup } from './cleanup.js';
import { childEntry } from './compiled.js';
import { sleep } from './time.js';

export interface ChildMessage {
  type: string;
  id?: number;
  [key: string]: unknown;
}

export interface ChildOptions {
  name: string;
  /** Path of the TypeScript entry point, relative to the repository root. */
  script: string;
  /** Passed to the child as JSON in BENCH_CHILD_CONFIG. */
  config: unknown;
  logDir: string;
  /** Extra node flags (e.g. `--cpu-prof`). */
  nodeFlags?: string[];
}

export class BenchChild {
  readonly name: string;
  readonly proc: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly logFile: string;
  #handlers = new Set<(message: ChildMessage) => void>();
  #nextId = 1;
  #exitedNow = false;
  #unregister: () => void;

  constructor(options: ChildOptions) {
    this.name = options.name;
    mkdirSync(options.logDir, { recursive: true });
    this.logFile = join(options.logDir, `${options.name}.log`);
    const log = createWriteStream(this.logFile, { flags: 'a' });
    const entry = childEntry(options.script);
    this.proc = fork(entry.file, [], {
      execArgv: [...entry.execArgv, ...(options.nodeFlags ?? [])],
      env: {
        ...process.env,
        BENCH_CHILD_CONFIG: JSON.stringify(options.config),
        BENCH_CHILD_NAME: options.name,
      },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    this.proc.stdout?.pipe(log, { end: false });
    this.proc.stderr?.pipe(log, { end: false });
    this.proc.on('message', (message) => {
      for (const handler of [...this.#handlers]) handler(message as ChildMessage);
    });
    this.exited = new Promise((resolveExit) => {
      this.proc.once('exit', (code, signal) => {
        this.#exitedNow = true;
        this.#unregister();
        resolveExit({ code, signal });
        setTimeout(() => log.end(), 100).unref();
      });
    });
    this.#unregister = onCleanup(`child ${options.name}`, () => this.stop({ graceMs: 5_000 }));
  }

  get alive(): boolean {
    return !this.#exitedNow;
  }

  get pid(): number {
    return this.proc.pid ?? -1;
  }

  on(handler: (message: ChildMessage) => void): () => void {
    this.#handlers.add(handler);
    return () => this.#handlers.delete(handler);
  }

  send(message: ChildMessage): void {
    if (this.alive && this.proc.connected) this.proc.send(message);
  }

  /** Resolves with the first message of `type` that matches; rejects on timeout or if the child exits. */
  waitFor(
    type: string,
    options: { match?: (message: ChildMessage) => boolean; timeoutMs?: number } = {},
  ): Promise<ChildMessage> {
    const proc = this.proc;
    const timeoutMs = options.timeoutMs ?? 60_000;
    return new Promise((resolveMessage, reject) => {
      const finish = (error: Error | undefined, message?: ChildMessage) => {
        clearTimeout(timer);
        off();
        proc.off('exit', onExit);
        if (error) reject(error);
        else resolveMessage(message!);
      };
      const timer = setTimeout(
        () => finish(new Error(`${this.name}: no "${type}" within ${timeoutMs} ms (log: ${this.logFile})`)),
        timeoutMs,
      );
      const off = this.on((message) => {
        if (message.type === type && (options.match?.(message) ?? true)) finish(undefined, message);
      });
      const onExit = () =>
        finish(new Error(`${this.name} exited while waiting for "${type}" (log: ${this.logFile})`));
      if (!this.alive) onExit();
      else proc.once('exit', onExit);
    });
  }

  ready(timeoutMs = 90_000): Promise<ChildMessage> {
    return this.waitFor('ready', { timeoutMs });
  }

  /** Sends a request and resolves with its reply. */
  async request<T extends ChildMessage = ChildMessage>(
    message: ChildMessage,
    timeoutMs = 60_000,
  ): Promise<T> {
    const id = this.#nextId++;
    const reply = this.waitFor('reply', { match: (m) => m.id === id, timeoutMs });
    this.send({ ...message, id });
    return (await reply) as T;
  }

  /** SIGTERM (or the given signal), then SIGKILL after `graceMs`; resolves when the process is gone. */
  async stop(options: { signal?: NodeJS.Signals; graceMs?: number } = {}): Promise<void> {
    if (!this.alive) return;
    this.proc.kill(options.signal ?? 'SIGTERM');
    const graceful = await Promise.race([
      this.exited.then(() => true),
      sleep(options.graceMs ?? 10_000).then(() => false),
    ]);
    if (!graceful && this.alive) {
      this.proc.kill('SIGKILL');
      await this.exited;
    }
  }

  kill(signal: NodeJS.Signals): void {
    if (this.alive) this.proc.kill(signal);
  }
}

/** Stops children in parallel. */
export async function stopAll(
  children: readonly BenchChild[],
  options: { graceMs?: number } = {},
): Promise<void> {
  await Promise.all(children.map((child) => child.stop(options)));
}

// ---- the child side ------------------------------------------------------------------------------

/** Reads the config the orchestrator passed. */
export function childConfig<T>(): T {
  const raw = process.env.BENCH_CHILD_CONFIG;
  if (!raw)
    throw new Error(
      'BENCH_CHILD_CONFIG is not set: this file is started by bench/run.ts or bench/failover.ts',
    );
  return JSON.parse(raw) as T;
}

export function sendToParent(message: ChildMessage): void {
  if (process.send && process.connected) process.send(message);
}

/**
 * Serves requests from the orchestrator: `handle` returns the reply's fields for a message with an id;
 * messages without an id are notifications. Calls `onParentGone` when the IPC channel closes.
 */
export function serveParent(
  handle: (message: ChildMessage) => Promise<Record<string, unknown> | void> | Record<string, unknown> | void,
  onParentGone: () => void,
): void {
  process.on('message', (raw) => {
    const message = raw as ChildMessage;
    void (async () => {
      try {
        const reply = await handle(message);
        if (message.id !== undefined) sendToParent({ ...(reply ?? {}), type: 'reply', id: message.id });
      } catch (error) {
        if (message.id !== undefined)
          sendToParent({ type: 'reply', id: message.id, error: String((error as Error)?.message ?? error) });
      }
    })();
  });
  process.on('disconnect', onParentGone);
}
