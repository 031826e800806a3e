/**
 * Testing a job and its schedule with belfry/testing (docs/testing.md). In your project the imports read
 * `from 'belfry/testing'` and `from 'belfry/testing/vitest'`; here they point into the source tree.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runJob, simulate } from '../../src/testing/index.js';
import { installBelfryMatchers, useTestCluster } from '../../src/testing/vitest.js';
import { testDatabaseUrl } from '../../test/support/schema.js';
import NightlyReport from './jobs/nightly-report.js';

const definitions = fileURLToPath(new URL('./belfry.yaml', import.meta.url));
installBelfryMatchers();

describe('the nightly report job (runJob: no database)', () => {
  it('builds the file named by the desk and the scheduled day', async () => {
    const run = await runJob(NightlyReport, {
      data: { desk: 'rates' },
      trigger: 'nightly',
      scheduledAt: new Date('2027-03-01T23:00:00Z'),
    });
    expect(run.status).toBe('succeeded');
    expect(run.result).toEqual({ file: 'rates-2027-03-01.pdf' });
    expect(run.logs).toContainEqual(
      expect.objectContaining({ msg: 'building report', key: 'nightly@2027-03-01T23:00:00.000Z' }),
    );
  });

  it('refuses data its schema rejects, without retries', async () => {
    const run = await runJob(NightlyReport, { data: { desk: '', format: 'doc' } });
    expect(run.status).toBe('failed');
    expect(run.willRetry).toBe(false);
  });

  it('is cut off at its timeout', async () => {
    const run = await runJob(NightlyReport, { data: { desk: 'fx', buildMs: 5_000 }, timeoutMs: 50 });
    expect(run.status).toBe('timed_out');
  });
});

describe('the schedule (simulate: no database)', () => {
  it('fires on every NYSE trading day of 2027, and month-end on the last one of each month', async () => {
    const year = await simulate(definitions, { from: '2027-01-01T00:00:00Z', to: '2028-01-01T00:00:00Z' });
    expect(year.runs('nightly')).toBe(251);
    expect(year.runs('month-end')).toBe(12);
    const goodFriday = year.fires.find(
      (fire) => fire.trigger === 'nightly' && fire.local.startsWith('2027-03-29'),
    );
    expect(goodFriday?.skipped?.[0]).toMatchObject({ date: '2027-03-26', calendar: 'us-nyse' });
  });
});

describe('a real cluster, a month in a second or so (createTestCluster)', () => {
  const cluster = useTestCluster({
    definitions,
    database: testDatabaseUrl(),
    replicas: 2,
    start: '2027-03-01T00:00:00Z',
  });

  it('fires each trading day once across two replicas', async () => {
    await cluster.advanceTo('2027-04-01T00:00:00Z');
    const history = await cluster.history();
    expect(history).toHaveFired('nightly', { times: 22, status: 'succeeded' }); // 23 weekdays, Good Friday closed
    expect(history).toHaveFired('month-end', { times: 1 });
    expect(new Set(history.map((row) => row.scheduledAt.toISOString())).size).toBe(history.length);
  });

  it('after a day-long outage, fires month-end late by its fire-all policy', async () => {
    await cluster.advanceTo('2027-04-30T22:00:00Z');
    await cluster.outage('2d');
    const history = await cluster.history({ trigger: 'month-end' });
    expect(history.at(-1)).toMatchObject({ status: 'succeeded' });
    expect(history).toHaveFired('month-end', { times: 2 });
  });
});
