/**
 * `belfry apply` of a large YAML file (issue #16: 100,000 triggers applied in at most 30 s), timed as a
 * user runs it: a real `belfry apply FILE…` process (files of 10,000 triggers, under the 1 MiB limit) against a fresh database, then the same file again
 * (nothing changed), then with every tenth trigger's schedule changed.
 *
 *   npx tsx bench/apply-scale.ts [--triggers 100000] [--cpu-prof DIR]
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { intFlag, parseFlags, stringFlag } from './support/args.js';
import { runMain } from './support/cleanup.js';
import { childEntry } from './support/compiled.js';
import { startBenchServer } from './support/postgres.js';
import { monoMs } from './support/time.js';

const run = promisify(execFile);

/** Triggers per file: a definition file is at most 1 MiB (yaml-source.ts), about 13,000 of these. */
const PER_FILE = 10_000;

/**
 * N triggers over ten jobs, as YAML files of PER_FILE triggers (the jobs in the first): cron with
 * seconds in a time zone and intervals, spread out. `variant` 1 changes every tenth trigger's schedule.
 */
function yamlFiles(triggers: number, variant: number): string[] {
  const files: string[] = [];
  for (let first = 0; first < triggers; first += PER_FILE) {
    const lines: string[] = [];
    if (first === 0) {
      lines.push('jobs:');
      for (let j = 0; j < 10; j++) lines.push(`  job-${j}:`, '    type: command', '    command: "true"');
    }
    lines.push('triggers:');
    for (let i = first; i < Math.min(triggers, first + PER_FILE); i++) {
      const changed = variant > 0 && i % 10 === 0;
      lines.push(`  t-${i}:`, `    job: job-${i % 10}`, `    group: g-${i % 100}`);
      if (i % 2 === 0)
        lines.push(
          `    cron: '${i % 60} ${(i >> 1) % 60} ${changed ? 1 : '*'} * * *'`,
          '    timezone: Europe/Paris',
        );
      else lines.push(`    every: ${changed ? 120 + (i % 600) : 60 + (i % 600)}s`);
    }
    files.push(`${lines.join('\n')}\n`);
  }
  return files;
}

await runMain(async () => {
  const flags = parseFlags({ triggers: { type: 'string' }, 'cpu-prof': { type: 'string' } });
  const cpuProf = stringFlag(flags['cpu-prof']);
  const triggers = intFlag(flags.triggers, 100_000);
  const dir = join(process.cwd(), '.tmp', 'apply-scale');
  mkdirSync(dir, { recursive: true });
  const server = await startBenchServer({ prefix: 'bench-pg-apply' });
  const url = await server.createDatabase('apply_scale');
  // The CLI compiled, as an installed package runs it (bin/belfry.js in a checkout would go through tsx).
  const bin = childEntry('src/cli/main.ts').file;
  const apply = async (label: string, variant: number) => {
    const files = yamlFiles(triggers, variant).map((text, i) => {
      const file = join(dir, `triggers-${variant}-${i}.yaml`);
      writeFileSync(file, text);
      return file;
    });
    const started = monoMs();
    // /usr/bin/time reports the process's CPU time and peak RSS: on a shared machine the CPU seconds are
    // what compares from one run to the next, the wall time is what a user waits.
    const node = [
      ...(cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${join(cpuProf, String(variant))}`] : []),
      bin,
      'apply',
      ...files,
    ];
    const timed = existsSync('/usr/bin/time');
    const { stdout, stderr } = await run(
      timed ? '/usr/bin/time' : process.execPath,
      timed ? ['-f', 'cpu %U %S rss %M', process.execPath, ...node] : node,
      { env: { ...process.env, DATABASE_URL: url, BELFRY_SCHEMA: 'belfry' }, maxBuffer: 1 << 30 },
    );
    const seconds = (monoMs() - started) / 1_000;
    const summary = stdout.trim().split('\n').at(-1);
    const usage = /cpu ([\d.]+) ([\d.]+) rss (\d+)/.exec(stderr);
    const cpu = usage
      ? `, CPU ${(Number(usage[1]) + Number(usage[2])).toFixed(1)} s, peak RSS ${Math.round(Number(usage[3]) / 1024)} MB`
      : '';
    process.stdout.write(`${label}: ${seconds.toFixed(1)} s${cpu} (${summary})\n`);
    return seconds;
  };
  process.stdout.write(`${triggers} triggers\n`);
  await apply('first apply (all new)', 0);
  await apply('same file again (nothing changed)', 0);
  await apply('every tenth trigger changed', 1);
  await server.stop();
});
