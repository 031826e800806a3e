/**
 * `after:` in YAML: parsed into an `after` spec (single upstream and fan-in), options that only time
 * schedules take refused at their line, unknown upstream jobs and cycles rejected at validate time with
 * file:line and the cycle named.
 */
import { describe, expect, it } from 'vitest';
import { loadDefinitions } from '../../../src/config/definition-loader.js';
import { formatDefinitionError } from '../../../src/config/definition-error.js';

async function load(text: string) {
  return loadDefinitions(['chain.yaml'], { readFile: async () => text });
}

const JOBS = `jobs:
  extract: { type: command, command: "true" }
  load: { type: command, command: "true" }
  report: { type: command, command: "true" }
`;

describe('after: in YAML', () => {
  it('builds a single-upstream and a fan-in continuation', async () => {
    const result = await load(`${JOBS}triggers:
  nightly: { job: extract, cron: "0 2 * * *" }
  load-after-extract:
    job: load
    after: { job: extract, on: [succeeded, timed_out] }
  report-after-both:
    job: report
    after: { all: [extract, load], within: 1h }
`);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const specs = Object.fromEntries(result.definitions.triggers.map((t) => [t.name, t.record.spec]));
    expect(specs['load-after-extract']).toEqual({
      kind: 'after',
      job: 'extract',
      on: ['succeeded', 'timed_out'],
    });
    expect(specs['report-after-both']).toEqual({
      kind: 'after',
      all: ['extract', 'load'],
      withinMs: 3_600_000,
    });
  });

  it('rejects a cycle at the after: line of each trigger on it, naming the cycle', async () => {
    const result = await load(`${JOBS}triggers:
  load-after-extract:
    job: load
    after: { job: extract }
  report-after-load:
    job: report
    after: { job: load, on: [any] }
  extract-after-report:
    job: extract
    after: { job: report }
`);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const messages = result.errors.map(formatDefinitionError);
    expect(messages).toHaveLength(3);
    expect(messages[0]).toBe(
      'chain.yaml:8:12: triggers.load-after-extract.after: continuation cycle: extract → load → report → extract (triggers load-after-extract, report-after-load, extract-after-report); a chain must end',
    );
    expect(messages[1]).toMatch(/^chain\.yaml:11:12: .*load → report → extract → load/);
    expect(messages[2]).toMatch(/^chain\.yaml:14:12: /);
  });

  it('rejects a job continuing itself, an unknown upstream, and time options on a continuation', async () => {
    const result = await load(`${JOBS}triggers:
  again:
    job: load
    after: { job: load }
  ghost:
    job: load
    after: { all: [extract, nope] }
  timed:
    job: report
    calendar: us-nyse
    after: { job: extract }
  both:
    job: report
    cron: "* * * * *"
    after: { job: extract }
  bad-on:
    job: report
    after: { all: [extract, load], on: [failed] }
`);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const messages = result.errors.map(formatDefinitionError);
    expect(messages).toContain(
      'chain.yaml:8:12: triggers.again.after: continuation cycle: load → load (triggers again); a chain must end',
    );
    expect(messages).toContain('chain.yaml:11:29: triggers.ghost.after.all[1]: unknown upstream job "nope"');
    expect(
      messages.some((m) => /^chain\.yaml:14:15: triggers\.timed\.calendar: calendar applies to time/.test(m)),
    ).toBe(true);
    expect(messages.some((m) => /triggers\.both.*exactly one schedule; found cron and after/.test(m))).toBe(
      true,
    );
    expect(messages.some((m) => /triggers\.bad-on\.after\.on: on applies to after\.job/.test(m))).toBe(true);
  });
});
