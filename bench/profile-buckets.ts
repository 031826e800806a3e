/**
 * Where a replica's CPU goes, by owner: V8 CPU profiles (bench/profile-drain.ts --cpu-prof) summarized
 * as self time per bucket (Belfry's modules, pg, kysely, pino, Node's streams and sockets, GC...), from
 * the first acquisition on (start-up compilation left out), per fire when `--fires` says how many this
 * replica ran.
 *
 *   npx tsx bench/profile-buckets.ts FILE.cpuprofile... [--fires 6667]
 */
import { readFileSync } from 'node:fs';
import { intFlag } from './support/args.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}

const args = process.argv.slice(2);
const files = args.filter((a, i) => !a.startsWith('--') && !args[i - 1]?.startsWith('--'));
const firesIndex = args.indexOf('--fires');
const fires = firesIndex >= 0 ? intFlag(args[firesIndex + 1], 0) : 0;

function bucket(node: ProfileNode): string {
  const { url, functionName } = node.callFrame;
  if (!url) {
    if (['(idle)', '(garbage collector)', '(program)', '(root)'].includes(functionName)) return functionName;
    return `native: ${functionName || '(anonymous)'}`.slice(0, 40).startsWith('native: write')
      ? 'node: socket write'
      : 'native (runMicrotasks, timers, ...)';
  }
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return `npm: ${pkg[1]}`;
  const src = /\/src\/([^/]+)\/([^/.]+)/.exec(url);
  if (src) return `belfry: ${src[1]}/${src[2]}`;
  if (url.startsWith('node:internal/streams') || url.includes('stream_base') || url.startsWith('node:net'))
    return 'node: streams and sockets';
  if (url.includes('modules/')) return 'node: module loading';
  return `node: ${url.replace(/^node:(internal\/)?/, '').split('/')[0]}`;
}

for (const file of files) {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as {
    nodes: ProfileNode[];
    samples: number[];
    timeDeltas: number[];
  };
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const touchesAcquisition = (id: number) => {
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur))
      if (byId.get(cur)!.callFrame.url.includes('src/store/fire-store')) return true;
    return false;
  };
  const totals = new Map<string, number>();
  let counting = false;
  let spanMs = 0;
  profile.samples.forEach((id, i) => {
    if (!counting && touchesAcquisition(id)) counting = true;
    if (!counting) return;
    const ms = (profile.timeDeltas[i] ?? 0) / 1_000;
    spanMs += ms;
    const name = bucket(byId.get(id)!);
    totals.set(name, (totals.get(name) ?? 0) + ms);
  });
  const busy = spanMs - (totals.get('(idle)') ?? 0);
  process.stdout.write(
    `\n== ${file}\n${spanMs.toFixed(0)} ms from the first acquisition, ${busy.toFixed(0)} ms busy (${((busy / spanMs) * 100).toFixed(0)} %)` +
      (fires ? `, ${((busy * 1_000) / fires).toFixed(0)} µs per fire\n` : '\n'),
  );
  for (const [name, ms] of [...totals.entries()].filter(([n]) => n !== '(idle)').sort((a, b) => b[1] - a[1]))
    process.stdout.write(
      `${ms.toFixed(0).padStart(8)} ms ${((ms / busy) * 100).toFixed(1).padStart(5)} %` +
        (fires ? ` ${((ms * 1_000) / fires).toFixed(1).padStart(7)} µs/fire` : '') +
        `  ${name}\n`,
    );
}
