/**
 * `belfry/testing`: test users' jobs and schedules (docs/testing.md).
 *   - runJob: one execution in-process, no database;
 *   - simulate: every fire of definitions over a window, no database, by the engine's own planner;
 *   - createTestCluster: real replicas on a real PostgreSQL with a clock the test moves;
 *   - countFired: the history check behind the Vitest matcher, for other runners.
 * Vitest helpers (a `toHaveFired` matcher, a per-file cluster) are in `belfry/testing/vitest`.
 */
export { runJob, type CapturedLog, type RunJobOptions, type RunJobResult } from './run-job.js';
export {
  simulate,
  type DstDecision,
  type MisfireDecision,
  type Outage,
  type SimulateOptions,
  type SimulatedFire,
  type SimulationResult,
} from './simulate.js';
export type { DefinitionsInput, DefinitionsObject } from './definitions-input.js';
export {
  createTestCluster,
  type TestCluster,
  type TestClusterOptions,
  type TestJob,
} from './test-cluster.js';
export { TestClock } from './test-clock.js';
export { startTestServer, type TestServer } from './test-server.js';
export { countFired, type FiredExpectation, type FiredResult, type FiredRow } from './history-match.js';
