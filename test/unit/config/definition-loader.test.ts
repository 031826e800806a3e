import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadDefinitions, type LoadResult } from '../../../src/config/definition-loader.js';
import { formatDefinitionError, type DefinitionError } from '../../../src/config/definition-error.js';
import { BUILTIN_DATA_KEY } from '../../../src/jobs/builtin/builtin-jobs.js';
import { definitionDir, yaml, type DefinitionDir } from './definition-files.js';

let files: DefinitionDir;
beforeEach(() => {
  files = definitionDir();
  files.write('jobs/report.ts', 'export default class Report { async execute() {} }\n');
});
afterEach(() => files.remove());

function errorsOf(result: LoadResult): DefinitionError[] {
  if (result.ok) throw new Error('expected errors, got valid definitions');
  return result.errors;
}

/** Loads one YAML text and returns its errors as `line:column: message`. */
async function errorsIn(text: string): Promise<string[]> {
  const file = files.write('belfry.yaml', text);
  return errorsOf(await loadDefinitions([file])).map((error) =>
    formatDefinitionError(error).slice(file.length + 1),
  );
}

const JOB = yaml`
  jobs:
    report:
      module: ./jobs/report.ts
`;

describe('loadDefinitions: valid files', () => {
  it('maps jobs, triggers and calendars to the stored records', async () => {
    const file = files.write(
      'belfry.yaml',
      yaml`
        # yaml-language-server: $schema=../belfry.schema.json
        calendars:
          office:
            type: holiday
            dates: [2026-12-24, { date: 2026-12-31, name: New Year's Eve }]
            base: us-federal
        jobs:
          report:
            module: ./jobs/report.ts
            description: nightly report
            concurrency: forbid
            timeout: 30s
            retries: { attempts: 3, backoff: { initial: 1s, max: 1m, factor: 3 } }
            recover: true
            data: { format: pdf }
          ping:
            type: http
            url: https://example.com/health
            method: POST
            headers: { Authorization: { env: PING_TOKEN }, Accept: text/plain }
            body: { hello: world }
            timeout: 5s
          cleanup:
            type: command
            command: /usr/bin/find
            args: [/tmp, -mtime, '+7', -delete]
            env: { DB_PASSWORD: { file: ./secret.txt }, MODE: fast }
        triggers:
          report-nightly:
            job: report
            cron: "0 2 * * 1-5"
            timezone: Europe/Paris
            group: reports
            priority: 5
            calendar: office
            data: { extra: 1 }
            start: 2026-01-01T00:00:00Z
            end: 2027-01-01T00:00:00+01:00
            count: 10
            misfire: { policy: skip, threshold: 2m }
            paused: true
          ping-often:
            job: ping
            every: 30s
            start: 2026-01-01T00:00:10Z
          cleanup-once:
            job: cleanup
            at: 2030-01-01T10:00:00+01:00
          month-end:
            job: report
            quartz: "0 0 17 L * ?"
            timezone: Europe/London
            calendar: uk-england-wales
            onExcludedDay: previous-business-day
      `,
    );
    const result = await loadDefinitions([file]);
    if (!result.ok) throw new Error(result.errors.map(formatDefinitionError).join('\n'));
    const { calendars, jobs, triggers } = result.definitions;

    expect(calendars).toEqual([
      expect.objectContaining({
        name: 'office',
        spec: {
          kind: 'holiday',
          dates: ['2026-12-24', { date: '2026-12-31', name: "New Year's Eve" }],
          base: 'us-federal',
        },
      }),
    ]);
    const report = jobs.find((job) => job.name === 'report')!;
    expect(report.record).toEqual({
      name: 'report',
      module: './jobs/report.ts',
      exportName: 'default',
      description: 'nightly report',
      data: { format: 'pdf' },
      concurrency: 'forbid',
      timeoutMs: 30_000,
      maxAttempts: 3,
      backoff: { initialMs: 1_000, maxMs: 60_000, factor: 3 },
      recover: true,
      source: 'yaml',
    });
    expect(report.implementation).toMatchObject({
      kind: 'module',
      modulePath: `${files.dir}/jobs/report.ts`,
      moduleAt: { line: 9, column: 13 },
    });

    const ping = jobs.find((job) => job.name === 'ping')!;
    expect(ping.record.module).toBeNull();
    expect(ping.record.timeoutMs).toBe(5_000);
    expect(ping.record.data[BUILTIN_DATA_KEY]).toEqual({
      type: 'http',
      url: 'https://example.com/health',
      method: 'POST',
      headers: { Authorization: { env: 'PING_TOKEN' }, Accept: 'text/plain' },
      body: { hello: 'world' },
    });
    const cleanup = jobs.find((job) => job.name === 'cleanup')!;
    expect(cleanup.implementation).toMatchObject({
      kind: 'builtin',
      options: {
        type: 'command',
        args: ['/tmp', '-mtime', '+7', '-delete'],
        env: { DB_PASSWORD: { file: `${files.dir}/secret.txt` }, MODE: 'fast' },
      },
    });
    // The stored copy keeps the reference as written, never a resolved value.
    expect(cleanup.record.data[BUILTIN_DATA_KEY]).toMatchObject({
      env: { DB_PASSWORD: { file: './secret.txt' } },
    });

    const byName = Object.fromEntries(triggers.map((trigger) => [trigger.name, trigger]));
    expect(byName['report-nightly']!.record).toEqual({
      name: 'report-nightly',
      group: 'reports',
      job: 'report',
      kind: 'cron',
      spec: { kind: 'cron', expression: '0 2 * * 1-5', timezone: 'Europe/Paris', calendar: 'office' },
      calendarName: 'office',
      data: { extra: 1 },
      priority: 5,
      startAt: new Date('2026-01-01T00:00:00Z'),
      endAt: new Date('2026-12-31T23:00:00Z'),
      maxFires: 10,
      misfirePolicy: 'skip',
      misfireThresholdMs: 120_000,
      source: 'yaml',
    });
    expect(byName['report-nightly']!.paused).toBe(true);
    expect(byName['ping-often']!.record).toMatchObject({
      kind: 'interval',
      spec: { kind: 'interval', everyMs: 30_000, anchor: '2026-01-01T00:00:10.000Z' },
      group: 'default',
      priority: 0,
      misfirePolicy: 'fire-once-now',
      misfireThresholdMs: 60_000,
    });
    expect(byName['ping-often']!.paused).toBeUndefined();
    expect(byName['cleanup-once']!.record.spec).toEqual({ kind: 'once', at: '2030-01-01T09:00:00.000Z' });
    expect(byName['month-end']!.record.spec).toEqual({
      kind: 'quartz',
      expression: '0 0 17 L * ?',
      timezone: 'Europe/London',
      calendar: 'uk-england-wales',
      onExcludedDay: 'previous-business-day',
    });
  });

  it('accepts an empty file and merges several files', async () => {
    const empty = files.write('empty.yaml', '# nothing yet\n');
    const jobsFile = files.write('jobs.yaml', JOB);
    const triggersFile = files.write('triggers.yaml', 'triggers:\n  t:\n    job: report\n    every: 1m\n');
    const result = await loadDefinitions([empty, jobsFile, triggersFile]);
    expect(result.ok).toBe(true);
    if (result.ok)
      expect(result.definitions.triggers.map((trigger) => trigger.record.job)).toEqual(['report']);
  });

  it('lets triggers fire jobs registered in code (knownJobs)', async () => {
    const file = files.write('belfry.yaml', 'triggers:\n  t:\n    job: from-code\n    every: 1m\n');
    expect((await loadDefinitions([file])).ok).toBe(false);
    expect((await loadDefinitions([file], { knownJobs: ['from-code'] })).ok).toBe(true);
  });
});

describe('loadDefinitions: errors at their line and column', () => {
  it('reports a YAML syntax error', async () => {
    expect(await errorsIn('jobs:\n  report:\n    module: ./jobs/report.ts\n    data: { a: 1\n')).toEqual([
      expect.stringMatching(/^5:1: YAML syntax: /),
    ]);
  });

  it('reports a duplicate key in one file', async () => {
    expect(await errorsIn(`${JOB}    module: ./jobs/report.ts\n`)).toEqual([
      expect.stringMatching(/^4:5: YAML syntax: Map keys must be unique/),
    ]);
  });

  it('reports an unknown key at the key, with a suggestion', async () => {
    expect(await errorsIn(`${JOB}    timout: 30s\n`)).toEqual([
      '4:5: jobs.report: unknown key "timout" (did you mean "timeout"?)',
    ]);
    expect(
      await errorsIn(
        `${JOB}triggers:\n  t:\n    job: report\n    every: 1m\n    misfire: { policy: skip, treshold: 1s }\n`,
      ),
    ).toEqual(['8:30: triggers.t.misfire: unknown key "treshold"']);
    expect(await errorsIn(`${JOB}trigers: {}\n`)).toEqual([
      '4:1: unknown key "trigers" (expected calendars, jobs, triggers)',
    ]);
  });

  it('reports a bad cron expression at the cron value, naming the field', async () => {
    expect(await errorsIn(`${JOB}triggers:\n  nightly:\n    job: report\n    cron: "0 25 * * *"\n`)).toEqual([
      '7:11: triggers.nightly.cron: cron expression "0 25 * * *" is invalid in its hour field: 25 is out of range 0-23',
    ]);
  });

  it('reports a bad time zone at the timezone value, and still checks the expression', async () => {
    expect(
      await errorsIn(
        `${JOB}triggers:\n  nightly:\n    job: report\n    cron: "0 2 * * *"\n    timezone: Europe/Pariss\n`,
      ),
    ).toEqual([
      '8:15: triggers.nightly.timezone: unknown time zone "Europe/Pariss" (use an IANA name such as Europe/Paris or UTC)',
    ]);
    const both = await errorsIn(
      `${JOB}triggers:\n  nightly:\n    job: report\n    cron: "61 2 * * *"\n    timezone: Mars/Olympus\n`,
    );
    expect(both).toEqual([
      expect.stringMatching(/^7:11: triggers.nightly.cron: .*minute/),
      expect.stringMatching(/^8:15: .*Mars\/Olympus/),
    ]);
  });

  it('reports bad durations where they are written', async () => {
    expect(
      await errorsIn(
        `${JOB}    timeout: 30 seconds\n    retries: { attempts: 2, backoff: { initial: soon } }\ntriggers:\n  t:\n    job: report\n    every: 5x\n`,
      ),
    ).toEqual([
      '4:14: jobs.report.timeout: "30 seconds" is not a duration; write it like 500ms, 30s, 5m, 1h30m or 2d',
      '5:49: jobs.report.retries.backoff.initial: "soon" is not a duration; write it like 500ms, 30s, 5m, 1h30m or 2d',
      '9:12: triggers.t.every: "5x" is not a duration; write it like 500ms, 30s, 5m, 1h30m or 2d',
    ]);
  });

  it('reports an unknown job at the job value', async () => {
    expect(await errorsIn(`${JOB}triggers:\n  t:\n    job: reprot\n    every: 1m\n`)).toEqual([
      '6:10: triggers.t.job: unknown job "reprot"; did you mean "report"?',
    ]);
    expect(await errorsIn(`triggers:\n  t:\n    job: nothing\n    every: 1m\n`)).toEqual([
      '3:10: triggers.t.job: unknown job "nothing" (no jobs are defined)',
    ]);
  });

  it('reports an unknown calendar on a trigger and an unknown base calendar', async () => {
    expect(
      await errorsIn(`${JOB}triggers:\n  t:\n    job: report\n    cron: "0 9 * * *"\n    calendar: office\n`),
    ).toEqual([
      '8:15: triggers.t.calendar: calendar "office" is not defined (define it under calendars, or use a shipped one)',
    ]);
    expect(
      await errorsIn(
        `calendars:\n  office:\n    type: holiday\n    dates: [2026-12-24]\n    base: nowhere\n`,
      ),
    ).toEqual([
      '5:11: calendars.office.base: calendar "office" names base calendar "nowhere", which is not defined',
    ]);
    expect(await errorsIn(`calendars:\n  office:\n    type: holday\n    dates: [2026-12-24]\n`)).toEqual([
      expect.stringMatching(/^3:11: calendars.office.type must be one of "holiday", "annual"/),
    ]);
  });

  it('rejects secrets written in clear text', async () => {
    const errors = await errorsIn(
      yaml`
        jobs:
          ping:
            type: http
            url: https://example.com
            headers:
              Authorization: Bearer abc
              X-Api-Key: { env: KEY }
          run:
            type: command
            command: /bin/true
            env: { DB_PASSWORD: hunter2, MODE: fast }
      `,
    );
    expect(errors).toEqual([
      '6:22: jobs.ping.headers.Authorization: header "Authorization" looks like a secret: give it as { env: NAME } or { file: PATH }, never in clear text',
      '11:25: jobs.run.env.DB_PASSWORD: environment variable "DB_PASSWORD" looks like a secret: give it as { env: NAME } or { file: PATH }, never in clear text',
    ]);
  });

  it('reports duplicate names across files at the second definition', async () => {
    const first = files.write('a.yaml', JOB);
    const second = files.write('b.yaml', `# more\n${JOB}`);
    const errors = errorsOf(await loadDefinitions([first, second]));
    expect(errors.map(formatDefinitionError)).toEqual([
      `${second}:3:3: job "report" is already defined at ${first}:2:3`,
    ]);
  });

  it('reports a module file that does not exist, and a missing required key', async () => {
    expect(
      await errorsIn('jobs:\n  a:\n    module: ./jobs/nope.ts\n  b:\n    description: no module\n'),
    ).toEqual([
      `3:13: jobs.a.module: module file ./jobs/nope.ts does not exist (looked for ${files.dir}/jobs/nope.ts)`,
      '4:3: jobs.b: "module" is required',
    ]);
  });

  it('requires exactly one schedule', async () => {
    expect(
      await errorsIn(
        `${JOB}triggers:\n  none:\n    job: report\n  two:\n    job: report\n    cron: "* * * * *"\n    every: 1m\n`,
      ),
    ).toEqual([
      '6:5: triggers.none: a trigger needs one schedule: cron, quartz, every, at, calendarInterval, dailyInterval, businessDay, after',
      '10:12: triggers.two.every: a trigger has exactly one schedule; found cron and every',
    ]);
  });

  it('reports bad instants and options that do not apply', async () => {
    expect(
      await errorsIn(
        `${JOB}triggers:\n  t:\n    job: report\n    every: 1m\n    timezone: Europe/Paris\n    start: 2026-01-01T00:00:00\n    end: 2025-01-01T00:00:00Z\n`,
      ),
    ).toEqual([
      '8:15: triggers.t.timezone: timezone applies to cron, quartz, calendarInterval, dailyInterval, businessDay schedules, not to every',
      '9:12: triggers.t.start: "2026-01-01T00:00:00" has no offset; write an ISO 8601 instant such as 2030-01-01T09:00:00Z',
    ]);
  });

  it('reports every error of several files at once, in file order', async () => {
    const a = files.write(
      'a.yaml',
      `${JOB}    timeout: never\n    retries: { attempts: 0 }\ntriggers:\n  x:\n    job: ghost\n    cron: "* * *"\n`,
    );
    const b = files.write(
      'b.yaml',
      'jobs:\n  report:\n    module: ./jobs/report.ts\n  bad name!:\n    module: ./jobs/report.ts\n',
    );
    const c = files.write('c.yaml', 'jobs: [oops]\n');
    const errors = errorsOf(await loadDefinitions([a, b, c, `${files.dir}/missing.yaml`]));
    expect(errors.map((error) => [error.file.slice(files.dir.length + 1), error.line, error.column])).toEqual(
      [
        ['a.yaml', 4, 14],
        ['a.yaml', 5, 26],
        ['a.yaml', 8, 10],
        ['b.yaml', 2, 3],
        ['b.yaml', 4, 3],
        ['c.yaml', 1, 7],
        ['missing.yaml', 1, 1],
      ],
    );
    expect(errors[6]!.message).toBe('cannot read the file (ENOENT)');
  });
});
