/**
 * The replica processes of `belfry dev` (issue #19), with real processes standing in for replicas: `k`
 * kills one and a new one takes its name after the delay; `s` stops one and continues it; a stop ends
 * them all, cancels a pending restart, and does not count a killed replica as a failure.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { afterEach, expect, it } from 'vitest';
import { ReplicaSet } from '../../../src/dev/replica-set.js';

const started: ChildProcess[] = [];
afterEach(() => {
  for (const child of started)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

function replicaSet(restartDelayMs: number) {
  const events: string[] = [];
  const set = new ReplicaSet({
    names: ['replica-1', 'replica-2'],
    restartDelayMs,
    spawn() {
      // A stand-in replica: exits 0 on SIGTERM, as a replica that drained and checked out.
      const child = spawn(process.execPath, [
        '-e',
        "process.on('SIGTERM', () => process.exit(0)); setInterval(() => {}, 1000)",
      ]);
      started.push(child);
      return child;
    },
    onUnexpectedExit: (name, how) => events.push(`exit ${name} ${how}`),
    onRestarted: (name) => events.push(`restarted ${name}`),
  });
  return { set, events };
}

const waitFor = async (condition: () => boolean) => {
  for (let i = 0; i < 200 && !condition(); i += 1) await new Promise((resolve) => setTimeout(resolve, 25));
  expect(condition()).toBe(true);
};

it('kills a replica and starts a new process under its name; a stop ends all, exit codes 0', async () => {
  const { set, events } = replicaSet(100);
  set.start();
  const before = set.live();
  expect(before.map((r) => r.name)).toEqual(['replica-1', 'replica-2']);
  expect(set.kill('replica-2')).toBe(true);
  expect(set.kill('replica-2')).toBe(false);
  await waitFor(() => events.includes('restarted replica-2'));
  const after = set.live().find((r) => r.name === 'replica-2')!;
  expect(after.pid).not.toBe(before[1]!.pid);
  await new Promise((resolve) => setTimeout(resolve, 300)); // the new process installs its handler
  set.stop();
  expect(await set.done).toEqual([]);
  expect(events).toEqual(['restarted replica-2']);
});

it('a stop cancels a pending restart, and the killed replica is no failure', async () => {
  const { set, events } = replicaSet(60_000);
  set.start();
  await new Promise((resolve) => setTimeout(resolve, 300));
  set.kill('replica-1');
  await waitFor(() => set.live().length === 1);
  set.stop();
  expect(await set.done).toEqual([]);
  expect(events).toEqual([]);
});

it('stops a replica (SIGSTOP) and continues it; a stop continues it first', async () => {
  const { set } = replicaSet(100);
  set.start();
  await new Promise((resolve) => setTimeout(resolve, 300));
  let continued = false;
  expect(set.pause('replica-1', 60_000, () => (continued = true))).toBe(true);
  expect(set.paused).toBe(true);
  set.stop();
  expect(await set.done).toEqual([]);
  expect(continued).toBe(false);
});
