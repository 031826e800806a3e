/**
 * `belfry/testing/vitest`: the kit's helpers for Vitest. Vitest is the caller's (a dev dependency of the
 * project under test); the main entry and `belfry/testing` never import it.
 *
 *   import { useTestCluster, installBelfryMatchers } from 'belfry/testing/vitest';
 *   installBelfryMatchers();
 *   const cluster = useTestCluster({ definitions: './belfry.yaml', start: '2030-01-01T00:00:00Z' });
 *   it('fires every business day', async () => {
 *     await cluster.advanceTo('2031-01-01T00:00:00Z');
 *     expect(await cluster.history()).toHaveFired('nightly', { times: 252 });
 *   });
 */
import { afterAll, beforeAll, expect } from 'vitest';
import { countFired, type FiredExpectation, type FiredRow } from './history-match.js';
import { createTestCluster, type TestCluster, type TestClusterOptions } from './test-cluster.js';

export interface BelfryMatchers<R = unknown> {
  /** The history (cluster.history() rows) shows `name` (a trigger, else a job) fired: `times` exactly, or at least once. */
  toHaveFired(name: string, expected?: FiredExpectation): R;
}

declare module 'vitest' {
  // Vitest declares Matchers<T = any>; a merged declaration must repeat it exactly.
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type, @typescript-eslint/no-explicit-any
  interface Matchers<T = any> extends BelfryMatchers<T> {}
}

/** Adds `toHaveFired` to `expect` (call once, at the top of a test file or in a setup file). */
export function installBelfryMatchers(): void {
  expect.extend({
    toHaveFired(received: unknown, name: string, expected: FiredExpectation = {}) {
      if (!Array.isArray(received))
        return { pass: false, message: () => 'toHaveFired expects the rows of cluster.history()' };
      const result = countFired(received as FiredRow[], name, expected);
      return {
        pass: result.pass,
        message: () => result.message,
        actual: result.count,
        expected: expected.times,
      };
    },
  });
}

/**
 * A test cluster for the calling test file: its own schema, created before the file's first test and
 * dropped after its last. Read it inside hooks and tests (it is empty at the file's top level).
 */
export function useTestCluster(options: TestClusterOptions = {}): TestCluster {
  const handle = {} as TestCluster;
  let cluster: TestCluster | undefined;
  beforeAll(async () => {
    cluster = await createTestCluster(options);
    // The object's methods close over the cluster: copying them keeps `handle` usable as the cluster.
    Object.assign(handle, cluster);
  }, 120_000);
  afterAll(async () => {
    await cluster?.stop();
  }, 60_000);
  return handle;
}
