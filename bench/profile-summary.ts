/**
 * Summarizes V8 CPU profiles written by `npm run bench -- --cpu-prof` (one per Belfry replica):
 * self time per function and inclusive time per function, so the hot path of a replica is readable
 * without a profiler UI.
 *
 *   npx tsx bench/profile-summary.ts .tmp/bench-profiles/*.cpuprofile [--top 30] [--filter src/]
 */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { intFlag } from './support/args.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

const args = process.argv.slice(2);
const files = args.filter((a, i) => !a.startsWith('--') && !args[i - 1]?.startsWith('--'));
const topIndex = args.indexOf('--top');
const top = topIndex >= 0 ? intFlag(args[topIndex + 1], 30) : 30;
const filterIndex = args.indexOf('--filter');
const filter = filterIndex >= 0 ? args[filterIndex + 1] : undefined;

function label(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const where = url ? `${relative(process.cwd(), url.replace(/^file:\/\//, ''))}:${lineNumber + 1}` : '';
  return `${functionName || '(anonymous)'} ${where}`.trim();
}

for (const file of files) {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const selfMs = new Map<number, number>();
  profile.samples.forEach((id, i) =>
    selfMs.set(id, (selfMs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1_000),
  );
  const totalMs = (profile.endTime - profile.startTime) / 1_000;
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  for (const [id, ms] of selfMs) {
    const node = byId.get(id)!;
    self.set(label(node), (self.get(label(node)) ?? 0) + ms);
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const name = label(byId.get(cur)!);
      if (seen.has(name)) continue;
      seen.add(name);
      inclusive.set(name, (inclusive.get(name) ?? 0) + ms);
    }
  }
  const idle = self.get('(idle)') ?? 0;
  process.stdout.write(
    `\n== ${file}: ${totalMs.toFixed(0)} ms profiled, ${(totalMs - idle).toFixed(0)} ms busy\n`,
  );
  const show = (title: string, map: Map<string, number>) => {
    process.stdout.write(`-- ${title}\n`);
    [...map.entries()]
      .filter(([name]) => name !== '(idle)' && name !== '(root)' && (!filter || name.includes(filter)))
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .forEach(([name, ms]) => process.stdout.write(`${ms.toFixed(0).padStart(8)} ms  ${name}\n`));
  };
  show('self time', self);
  show('inclusive time', inclusive);
}
