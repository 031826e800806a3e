/** belfry/testing's entry lists its exports by name; their shapes are part of the contract. */
import { describe, expect, expectTypeOf, it } from 'vitest';
import * as testing from '../../../src/testing/index.js';
import type { RunJobResult, SimulatedFire, TestCluster } from '../../../src/testing/index.js';

describe('belfry/testing', () => {
  it('exports exactly the kit', () => {
    expect(Object.keys(testing).sort()).toEqual([
      'TestClock',
      'countFired',
      'createTestCluster',
      'runJob',
      'simulate',
      'startTestServer',
    ]);
  });

  it('has the documented shapes', () => {
    expectTypeOf<RunJobResult['status']>().toEqualTypeOf<'succeeded' | 'failed' | 'timed_out'>();
    expectTypeOf<SimulatedFire['outcome']>().toEqualTypeOf<
      'fired' | 'fired-late' | 'caught-up' | 'misfired'
    >();
    expectTypeOf<TestCluster['advanceBy']>().parameter(0).toEqualTypeOf<number | string>();
    expectTypeOf(testing.simulate).returns.resolves.toHaveProperty('dst');
  });
});
