/** Handler-side samples gathered from the children (replicas or peer workers) over IPC. */
import type { BenchChild, ChildMessage } from './children.js';
import { monoMs, sleep } from './time.js';

export interface GroupSamples {
  /** Handler start, wall ms. */
  starts: number[];
  /** Handler start minus the time the work was due. */
  lags: number[];
  /** Handler start minus the time the work was requested. */
  addLags: number[];
}

/** Takes (and clears) one group's samples from every child and merges them. */
export async function collectSamples(
  children: readonly BenchChild[],
  group: string,
): Promise<GroupSamples & { perChild: Record<string, number> }> {
  const merged: GroupSamples & { perChild: Record<string, number> } = {
    starts: [],
    lags: [],
    addLags: [],
    perChild: {},
  };
  const replies = await Promise.all(
    children
      .filter((child) => child.alive)
      .map(async (child) => ({
        child,
        reply: await child.request<ChildMessage & { samples: GroupSamples }>({ type: 'collect', group }),
      })),
  );
  for (const { child, reply } of replies) {
    merged.perChild[child.name] = reply.samples.starts.length;
    // push in chunks: spreading 100k values into push() overflows the stack
    for (const key of ['starts', 'lags', 'addLags'] as const) {
      for (const value of reply.samples[key]) merged[key].push(value);
    }
  }
  return merged;
}

export async function countStarted(children: readonly BenchChild[], group: string): Promise<number> {
  const counts = await Promise.all(
    children
      .filter((child) => child.alive)
      .map((child) =>
        child.request<ChildMessage & { count: number }>({ type: 'count', group }).then((r) => r.count),
      ),
  );
  return counts.reduce((total, count) => total + count, 0);
}

/**
 * Waits until `count()` reaches `expected`, or it stops growing for `stallMs`, or `timeoutMs` passes.
 * Returns the last count.
 */
export async function waitForCount(
  count: () => Promise<number>,
  expected: number,
  options: { timeoutMs: number; stallMs: number; everyMs?: number },
): Promise<number> {
  const started = monoMs();
  let last = -1;
  let lastChange = monoMs();
  for (;;) {
    const now = await count();
    if (now >= expected) return now;
    if (now !== last) {
      last = now;
      lastChange = monoMs();
    }
    if (monoMs() - lastChange > options.stallMs || monoMs() - started > options.timeoutMs) return now;
    await sleep(options.everyMs ?? 250);
  }
}

export function firstAndLast(values: readonly number[]): { first: number | null; last: number | null } {
  if (values.length === 0) return { first: null, last: null };
  let first = Infinity;
  let last = -Infinity;
  for (const value of values) {
    if (value < first) first = value;
    if (value > last) last = value;
  }
  return { first, last };
}
