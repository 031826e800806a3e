/**
 * Benchmark children run compiled JavaScript, as a deployment does (the image and `npm start` from a
 * package run `dist/`), not TypeScript through `--import tsx`: tsx's loader runs in a thread of its own
 * with its own V8 heap, about 40 MB of resident memory per process that no user pays (measured: an idle
 * replica 124 MB under tsx, 83 MB compiled; 154 vs 109 MB at the peak of a 10,000-fire drain).
 *
 * The first child of a run compiles `src/` and `bench/` of this checkout once (tsconfig.bench.json, into
 * `.tmp/bench-dist/`, with links to the data directories the code finds beside itself). An entry point
 * outside this checkout (another tree, for a before/after comparison) still runs through tsx.
 * BENCH_TSX=1 runs every child through tsx.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, symlinkSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const OUT = join(ROOT, '.tmp', 'bench-dist');
/** Directories the code resolves beside its own files (migrations, shipped calendars, the dashboard). */
const DATA_DIRS = ['migrations', 'calendars', 'ui'];

let compiled = false;

function compileOnce(): void {
  if (compiled) return;
  try {
    execFileSync(
      process.execPath,
      [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.bench.json'],
      {
        cwd: ROOT,
        stdio: 'inherit',
      },
    );
  } catch {
    // Type errors still emit JavaScript (the type check is `npm test`'s job); run what was emitted.
    process.stderr.write('bench: tsc reported errors; running the JavaScript it emitted\n');
  }
  mkdirSync(OUT, { recursive: true });
  for (const dir of DATA_DIRS)
    if (!existsSync(join(OUT, dir))) symlinkSync(join(ROOT, dir), join(OUT, dir), 'dir');
  compiled = true;
}

/** How to run `script`: the compiled file and no loader, or the TypeScript file through tsx. */
export function childEntry(script: string): { file: string; execArgv: string[] } {
  const source = resolve(script);
  const inside = relative(ROOT, source);
  if (process.env.BENCH_TSX === '1' || inside.startsWith('..'))
    return { file: source, execArgv: ['--import', 'tsx'] };
  compileOnce();
  return { file: join(OUT, inside.replace(/\.ts$/, '.js')), execArgv: [] };
}
