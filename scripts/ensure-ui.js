#!/usr/bin/env node
// Builds the dashboard (ui/ -> ui/dist/) when it is missing or older than its sources: `npm start` and
// the browser tests call it, so a fresh clone never serves a stale or missing dashboard. `npm ci` builds
// it too (the `prepare` script).
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const built = join(root, 'ui', 'dist', 'index.html');

function newest(dir) {
  let latest = 0;
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const stat = statSync(path);
    latest = Math.max(latest, stat.isDirectory() ? newest(path) : stat.mtimeMs);
  }
  return latest;
}

const sources = Math.max(newest(join(root, 'ui', 'src')), statSync(join(root, 'ui', 'index.html')).mtimeMs);
if (!existsSync(built) || statSync(built).mtimeMs < sources) {
  process.stderr.write('building the dashboard (ui/ -> ui/dist/)\n');
  execFileSync(
    process.execPath,
    [
      join(root, 'node_modules', 'vite', 'bin', 'vite.js'),
      'build',
      '--config',
      join(root, 'ui', 'vite.config.ts'),
    ],
    {
      stdio: 'inherit',
      cwd: root,
    },
  );
}
