// deploy/systemd: `systemd-analyze verify` (systemd's own unit parser) plus the rules that matter
// for Belfry: restart on failure, an environment file, a non-root user, and a stop timeout longer
// than the graceful shutdown deadline.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findTool, inCI, parseDurationSeconds, readRepoFile, run } from './support.js';

const analyze = findTool('systemd-analyze', ['--version'], 'apt-get install -y systemd');
const unit = readRepoFile('deploy/systemd/belfry.service');
const envFile = readRepoFile('deploy/systemd/belfry.env');
const tmp = mkdtempSync(join(tmpdir(), 'belfry-systemd-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Parses a unit file into section -> key -> values (later assignments append). */
function parseUnit(text: string): Map<string, Map<string, string[]>> {
  const sections = new Map<string, Map<string, string[]>>();
  let current = new Map<string, string[]>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    const s = /^\[(.+)\]$/.exec(line);
    if (s?.[1]) {
      current = sections.get(s[1]) ?? new Map<string, string[]>();
      sections.set(s[1], current);
      continue;
    }
    const eq = line.indexOf('=');
    const key = line.slice(0, eq).trim();
    current.set(key, [...(current.get(key) ?? []), line.slice(eq + 1).trim()]);
  }
  return sections;
}

function parseEnv(text: string): Map<string, string> {
  const env = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (m?.[1]) env.set(m[1], m[2] ?? '');
  }
  return env;
}

function checkUnit(text: string, env: string): string[] {
  const problems: string[] = [];
  const u = parseUnit(text);
  const svc = u.get('Service') ?? new Map<string, string[]>();
  const get = (k: string): string | undefined => svc.get(k)?.at(-1);
  if (!['on-failure', 'always'].includes(get('Restart') ?? '')) problems.push('Restart is not on-failure');
  if (!get('EnvironmentFile')) problems.push('no EnvironmentFile');
  if (!get('User') || get('User') === 'root') problems.push('runs as root');
  if (!/bin\/belfry\.js start\b/.test(get('ExecStart') ?? ''))
    problems.push('ExecStart does not run `belfry.js start`');
  if ((get('KillSignal') ?? 'SIGTERM') !== 'SIGTERM') problems.push('KillSignal is not SIGTERM');
  const shutdown = parseDurationSeconds(parseEnv(env).get('BELFRY_SHUTDOWN_TIMEOUT') ?? '30s');
  const stop = parseDurationSeconds(get('TimeoutStopSec') ?? '90');
  if (stop <= shutdown)
    problems.push(`TimeoutStopSec ${stop}s does not exceed BELFRY_SHUTDOWN_TIMEOUT ${shutdown}s`);
  if (!u.get('Install')?.get('WantedBy')) problems.push('no [Install] WantedBy');
  return problems;
}

function verify(text: string): string[] {
  const file = join(tmp, 'belfry.service');
  writeFileSync(file, text);
  const r = run(analyze.path as string, ['verify', file]);
  // verify prints unknown keys and unparsable values as warnings with status 0: both are errors here.
  return [
    ...r.stderr.split('\n').filter((l) => l.includes(file)),
    ...(r.status === 0 ? [] : [`exit ${r.status}`]),
  ];
}

describe('systemd unit', () => {
  it('systemd-analyze is available (required under CI=true)', (ctx) => {
    if (analyze.missing) {
      if (inCI) throw new Error(analyze.missing);
      ctx.skip(analyze.missing);
    }
  });

  it.skipIf(!analyze.path)('passes systemd-analyze verify', () => {
    expect(verify(unit)).toEqual([]);
  });

  it('restarts on failure, reads its environment file and stops gracefully', () => {
    expect(checkUnit(unit, envFile)).toEqual([]);
    expect(parseEnv(envFile).get('DATABASE_URL')).toBeTruthy();
  });

  it('a broken unit fails the checks', () => {
    const bad = unit
      .replace('Restart=on-failure', 'Restrat=on-failure')
      .replace('TimeoutStopSec=60', 'TimeoutStopSec=20');
    const problems = checkUnit(bad, envFile).join('\n');
    expect(problems).toMatch(/Restart is not on-failure/);
    expect(problems).toMatch(/TimeoutStopSec 20s does not exceed/);
    if (analyze.path) expect(verify(bad).join('\n')).toMatch(/Unknown key 'Restrat'/);
  });
});
