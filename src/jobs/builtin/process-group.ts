/**
 * Signals to a child's whole process group (the child was spawned `detached`, so its pid is the group
 * id). A stop sends SIGTERM to the group, then SIGKILL after a grace, even when the direct child has
 * already exited: a pipeline member or a background grandchild that ignores SIGTERM is still a member.
 *
 * Windows has no process groups; there only the direct child is signalled.
 */
import type { ChildProcess } from 'node:child_process';

export class ProcessGroup {
  #killTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly child: ChildProcess,
    private readonly killGraceMs: number,
  ) {}

  /** SIGTERM now, SIGKILL after the grace. Safe to call more than once. */
  terminate(): void {
    if (this.#killTimer) return;
    this.signal('SIGTERM');
    this.#killTimer = setTimeout(() => void this.signal('SIGKILL'), this.killGraceMs);
    // The grace must not keep a stopping process alive on its own.
    this.#killTimer.unref();
  }

  /**
   * After the command ended: whatever is left of its group (a background grandchild, say) is stopped
   * the same way. Usually the group is already empty and nothing is sent.
   */
  killLeftovers(): void {
    if (!this.signal(0)) {
      clearTimeout(this.#killTimer);
      return;
    }
    this.terminate();
  }

  /** Sends `signal` to the group; false when the group no longer exists. */
  signal(signal: NodeJS.Signals | 0): boolean {
    const pid = this.child.pid;
    if (pid === undefined) return false;
    try {
      if (process.platform === 'win32')
        return signal === 0 ? this.child.exitCode === null : this.child.kill(signal);
      process.kill(-pid, signal);
      return true;
    } catch (error) {
      // ESRCH: the group is already gone.
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
      return false;
    }
  }
}
