/** package.json promises what the code needs: the Node version, and no runtime dependency only tests use. */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  engines: { node: string };
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? sources(join(dir, entry.name))
      : entry.name.endsWith('.ts')
        ? [join(dir, entry.name)]
        : [],
  );
}

describe('package.json', () => {
  it('requires Node 20.3 at least, where AbortSignal.any (used by the http job) appeared', () => {
    expect(manifest.engines.node).toBe('>=20.3');
    const uses = sources(join(ROOT, 'src')).some((file) =>
      readFileSync(file, 'utf8').includes('AbortSignal.any'),
    );
    expect(uses).toBe(true);
  });

  it('lists cron-parser as a dev dependency: no source file imports it', () => {
    expect(manifest.dependencies).not.toHaveProperty('cron-parser');
    expect(manifest.devDependencies).toHaveProperty('cron-parser');
    for (const file of sources(join(ROOT, 'src')))
      expect(readFileSync(file, 'utf8'), file).not.toMatch(/from 'cron-parser'/);
  });
});
