/**
 * CPU per fire of two or more checkouts, interleaved in one sitting (issue #16): runs
 * `bench/profile-drain.ts` in each checkout in turn, round after round, so every checkout sees the same
 * machine load, and prints each run and the medians of the CPU per fire (Node: the replicas; PostgreSQL:
 * their backends, both from /proc, so a loaded machine does not inflate them the way it inflates rates).
 *
 *   git worktree add --detach /tmp/before <commit> && ln -s "$PWD/node_modules" /tmp/before/node_modules
 *   npx tsx bench/compare-drain.ts /tmp/before . [--rounds 3] [--jobs 10000]
 */
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { intFlag } from './support/args.js';

const args = process.argv.slice(2);
const flag = (name: string) => {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? args[at + 1] : undefined;
};
const checkouts = args.filter((a, i) => !a.startsWith('--') && !args[i - 1]?.startsWith('--'));
const rounds = intFlag(flag('rounds'), 3);
const jobs = intFlag(flag('jobs'), 10_000);
if (checkouts.length === 0)
  throw new Error('usage: compare-drain.ts CHECKOUT... [--rounds 3] [--jobs 10000]');

interface Run {
  drainFiresPerSec: number | null;
  herdLastStartMs: number | null;
  drainCpuUsPerFire: { node: number; postgres: number };
  herdCpuUsPerFire: { node: number; postgres: number } | null;
}
const runs = new Map<string, Run[]>(checkouts.map((dir) => [dir, []]));

for (let round = 1; round <= rounds; round++) {
  for (const dir of checkouts) {
    const load = spawnSync('cat', ['/proc/loadavg'], { encoding: 'utf8' }).stdout.split(' ')[0];
    const child = spawnSync('npx', ['tsx', 'bench/profile-drain.ts', '--jobs', String(jobs)], {
      cwd: resolve(dir),
      encoding: 'utf8',
      timeout: 600_000,
    });
    const line = child.stdout.split('\n').find((l) => l.startsWith('{'));
    if (!line) {
      process.stderr.write(`${dir}: no result\n${child.stderr.slice(-2_000)}\n`);
      continue;
    }
    const run = JSON.parse(line) as Run;
    runs.get(dir)!.push(run);
    process.stdout.write(
      `round ${round} ${dir} (load ${load}): drain ${run.drainFiresPerSec}/s, CPU ${run.drainCpuUsPerFire.node} + ` +
        `${run.drainCpuUsPerFire.postgres} µs; herd last start ${run.herdLastStartMs} ms, CPU ` +
        `${run.herdCpuUsPerFire?.node} + ${run.herdCpuUsPerFire?.postgres} µs\n`,
    );
  }
}

const median = (values: number[]) => {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  return sorted.length === 0 ? null : sorted[Math.floor(sorted.length / 2)]!;
};
console.table(
  checkouts.map((dir) => {
    const r = runs.get(dir)!;
    return {
      checkout: dir,
      runs: r.length,
      drainNodeUs: median(r.map((x) => x.drainCpuUsPerFire.node)),
      drainPostgresUs: median(r.map((x) => x.drainCpuUsPerFire.postgres)),
      herdNodeUs: median(r.map((x) => x.herdCpuUsPerFire?.node ?? NaN)),
      herdPostgresUs: median(r.map((x) => x.herdCpuUsPerFire?.postgres ?? NaN)),
      drainFiresPerSec: median(r.map((x) => x.drainFiresPerSec ?? NaN)),
      herdLastStartMs: median(r.map((x) => x.herdLastStartMs ?? NaN)),
    };
  }),
);
