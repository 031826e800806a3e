/** Finds the replica processes of one `belfry dev` run, to prove none is left behind. */
import { readdirSync, readFileSync } from 'node:fs';

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The `belfry start` processes whose DATABASE_URL points at this port (the replicas of one run). */
export function replicasOn(port: number): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map(Number)
    .filter((pid) => {
      try {
        const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
        const env = readFileSync(`/proc/${pid}/environ`, 'utf8');
        return (
          args.some((arg) => arg.endsWith('belfry.js')) && args.includes('start') && env.includes(`:${port}/`)
        );
      } catch {
        return false;
      }
    });
}

/** Waits up to `timeoutMs` for the replicas on `port` to be gone; returns those still running. */
export async function replicasLeftAfter(port: number, timeoutMs: number): Promise<number[]> {
  const deadline = performance.now() + timeoutMs;
  while (replicasOn(port).length && performance.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 250));
  return replicasOn(port);
}
