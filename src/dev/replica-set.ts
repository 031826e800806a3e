/**
 * The replica processes of `belfry dev`, and the faults it can inject into them on demand.
 *
 * Each replica is a slot with a name (replica-1 …) whose process may be replaced: `kill` SIGKILLs it
 * and starts a new process under the same name after `restartDelayMs` (a new instance to the cluster:
 * the old one is declared dead and its work recovered); `pause` SIGSTOPs it and SIGCONTs it later.
 *
 * Stopping: `stop` cancels pending restarts, continues paused processes (a stopped process would never
 * see its SIGTERM) and sends each live replica exactly one SIGTERM (drain, resign, check out); `stopNow`
 * sends another (replicas take a second SIGTERM as "exit now"). `done` resolves once every slot is
 * empty and has no restart pending, with the names whose last process did not exit 0. A process that
 * exits on its own (not by `kill`, not while stopping) is not restarted: the run goes on without it.
 */
import type { ChildProcess } from 'node:child_process';

export interface ReplicaSetOptions {
  names: string[];
  spawn(name: string): ChildProcess;
  restartDelayMs: number;
  /** A process exited that nobody asked to end (not killed by a key, not stopping). */
  onUnexpectedExit(name: string, codeOrSignal: string): void;
  onRestarted(name: string, pid: number): void;
}

interface Slot {
  name: string;
  process: ChildProcess | undefined;
  /** The process was killed on purpose and is to be replaced. */
  killed: boolean;
  restart: NodeJS.Timeout | undefined;
  pausedUntil: NodeJS.Timeout | undefined;
  failed: boolean;
}

export class ReplicaSet {
  readonly #options: ReplicaSetOptions;
  readonly #slots: Slot[];
  #stopping = false;
  #resolveDone: (failed: string[]) => void = () => {};
  readonly done: Promise<string[]>;

  constructor(options: ReplicaSetOptions) {
    this.#options = options;
    this.#slots = options.names.map((name) => ({
      name,
      process: undefined,
      killed: false,
      restart: undefined,
      pausedUntil: undefined,
      failed: false,
    }));
    this.done = new Promise((resolve) => (this.#resolveDone = resolve));
  }

  start(): void {
    for (const slot of this.#slots) this.#launch(slot);
  }

  /** The replicas with a running process, by name and pid. */
  live(): { name: string; pid: number }[] {
    return this.#slots.flatMap((slot) =>
      slot.process && isRunning(slot.process) && !slot.killed
        ? [{ name: slot.name, pid: slot.process.pid! }]
        : [],
    );
  }

  /** SIGKILLs `name`'s process; a new one starts under the same name after the restart delay. */
  kill(name: string): boolean {
    const slot = this.#slot(name);
    if (this.#stopping || !slot?.process || !isRunning(slot.process) || slot.killed) return false;
    slot.killed = true;
    this.#continue(slot);
    slot.process.kill('SIGKILL');
    return true;
  }

  /** SIGSTOPs `name`'s process for `ms`, then SIGCONTs it. */
  pause(name: string, ms: number, onContinued: () => void): boolean {
    const slot = this.#slot(name);
    if (this.#stopping || !slot?.process || !isRunning(slot.process) || slot.pausedUntil) return false;
    slot.process.kill('SIGSTOP');
    slot.pausedUntil = setTimeout(() => {
      if (this.#continue(slot)) onContinued();
    }, ms);
    return true;
  }

  get paused(): boolean {
    return this.#slots.some((slot) => slot.pausedUntil !== undefined);
  }

  /** One graceful stop request for every replica; safe to call twice. */
  stop(): void {
    if (this.#stopping) return;
    this.#stopping = true;
    this.#signalAll();
    this.#settle();
  }

  /** A second, urgent request: replicas exit at once. */
  stopNow(): void {
    this.#stopping = true;
    this.#signalAll();
    this.#settle();
  }

  #signalAll(): void {
    for (const slot of this.#slots) {
      clearTimeout(slot.restart);
      slot.restart = undefined;
      this.#continue(slot);
      if (slot.process && isRunning(slot.process)) slot.process.kill('SIGTERM');
    }
  }

  #launch(slot: Slot): void {
    const child = this.#options.spawn(slot.name);
    slot.process = child;
    slot.killed = false;
    child.on('exit', (code, signal) => {
      if (slot.process !== child) return;
      clearTimeout(slot.pausedUntil);
      slot.pausedUntil = undefined;
      if (slot.killed && !this.#stopping) {
        slot.restart = setTimeout(() => {
          slot.restart = undefined;
          if (this.#stopping) return this.#settle();
          this.#launch(slot);
          if (slot.process?.pid) this.#options.onRestarted(slot.name, slot.process.pid);
        }, this.#options.restartDelayMs);
        return;
      }
      slot.process = undefined;
      // Killed by the SIGTERM of a stop that came while it was still loading (before it installs its
      // handlers, so before it touched the database): nothing was left undone.
      const endedBeforeStart = this.#stopping && signal === 'SIGTERM';
      slot.failed = code !== 0 && !endedBeforeStart && !slot.killed;
      if (!this.#stopping) this.#options.onUnexpectedExit(slot.name, String(signal ?? code));
      this.#settle();
    });
  }

  /** Resolves `done` when no slot has a process or a pending restart. */
  #settle(): void {
    const busy = this.#slots.some(
      (slot) => slot.restart !== undefined || (slot.process !== undefined && isRunning(slot.process)),
    );
    if (!busy) this.#resolveDone(this.#slots.filter((slot) => slot.failed).map((slot) => slot.name));
  }

  #continue(slot: Slot): boolean {
    if (!slot.pausedUntil) return false;
    clearTimeout(slot.pausedUntil);
    slot.pausedUntil = undefined;
    if (slot.process && isRunning(slot.process)) slot.process.kill('SIGCONT');
    return true;
  }

  #slot(name: string): Slot | undefined {
    return this.#slots.find((slot) => slot.name === name);
  }
}

function isRunning(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}
