/**
 * The Debian tools the database HA tests run (patroni, etcd, haproxy, pgbouncer, and PostgreSQL's own
 * server binaries with pg_basebackup, pg_rewind and pg_controldata, which Patroni needs and the npm
 * embedded server does not ship), found once. Under CI=true a missing tool fails the test; elsewhere the
 * test is skipped with a message naming what to install.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const SEARCH_PATH = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

export function which(name: string): string | undefined {
  for (const dir of SEARCH_PATH) {
    const path = join(dir, name);
    if (existsSync(path)) return path;
  }
  return undefined;
}

/** The newest Debian PostgreSQL server with what Patroni needs beside it. */
export function debianPostgresBin(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((name) => /^\d+$/.test(name))
    .sort((a, b) => Number(b) - Number(a));
  for (const version of versions) {
    const bin = join(root, version, 'bin');
    const needed = ['postgres', 'initdb', 'pg_ctl', 'pg_basebackup', 'pg_rewind', 'pg_controldata'];
    if (needed.every((tool) => existsSync(join(bin, tool)))) return bin;
  }
  return undefined;
}

export interface ToolCheck {
  missing: string[];
  /** The apt-get line that installs what is missing. */
  install: string;
}

export function checkTools(tools: ('patroni' | 'etcd' | 'haproxy' | 'pgbouncer' | 'postgres')[]): ToolCheck {
  const packages: Record<string, string> = {
    patroni: 'patroni',
    etcd: 'etcd-server',
    haproxy: 'haproxy',
    pgbouncer: 'pgbouncer',
    postgres: 'postgresql',
  };
  const missing = tools.filter((tool) => (tool === 'postgres' ? !debianPostgresBin() : !which(tool)));
  return {
    missing,
    install: `apt-get install -y ${missing.map((tool) => packages[tool]).join(' ')}`,
  };
}

/**
 * Whether to run: true when every tool is there; false (with a message) when one is missing outside CI;
 * throws under CI=true, where the tools are installed by .ci/run and a missing one is a broken setup.
 */
export function toolsPresent(
  tools: Parameters<typeof checkTools>[0],
  log: (line: string) => void = console.log,
): boolean {
  const check = checkTools(tools);
  if (check.missing.length === 0) return true;
  const line = `${check.missing.join(', ')} missing (${check.install})`;
  if (process.env.CI === 'true') throw new Error(`the database HA test needs ${line}`);
  log(`[belfry ha] skipped: ${line}`);
  return false;
}
