/**
 * The local cluster's connection file (issue #19): written 0600, found from the project and its
 * subfolders only while it is true (the writer alive, its data directory in that `.belfry/`, the
 * server there listening on the recorded port), and the error without it names both ways out.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  chooseDatabase,
  findLocalCluster,
  localClusterFile,
  localClusterNotice,
  removeLocalCluster,
  writeLocalCluster,
  type LocalCluster,
} from '../../../src/cli/local-cluster.js';
import { readSettings } from '../../../src/cli/settings.js';

let project: string;
let dataDir: string;
let file: string;

function cluster(overrides: Partial<LocalCluster> = {}): LocalCluster {
  return {
    url: 'postgres://postgres:secret@127.0.0.1:54329/postgres',
    pid: process.pid,
    dataDir,
    port: 54329,
    schema: 'belfry',
    ...overrides,
  };
}

/** What a running server leaves in its data directory: postmaster.pid, with the port on line 4. */
function serverRunning(port: number): void {
  writeFileSync(join(dataDir, 'postmaster.pid'), `123\n${dataDir}\n1700000000\n${port}\n/tmp\n127.0.0.1\n`);
}

beforeEach(() => {
  project = mkdtempSync(join(tmpdir(), 'belfry-local-cluster-'));
  dataDir = join(project, '.belfry', 'pg');
  mkdirSync(dataDir, { recursive: true });
  file = localClusterFile(project, '.belfry/pg')!;
});
afterEach(() => rmSync(project, { recursive: true, force: true }));

describe('the connection file', () => {
  it('lives in the project .belfry/ only when the data does', () => {
    expect(file).toBe(join(project, '.belfry', 'cluster.json'));
    expect(localClusterFile(project, join(tmpdir(), 'elsewhere', 'pg'))).toBeUndefined();
    expect(localClusterFile(project, '.belfry')).toBeUndefined();
  });

  it('is readable by its owner only, and is found from a subfolder while the cluster runs', () => {
    writeLocalCluster(file, cluster());
    serverRunning(54329);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const sub = join(project, 'src', 'deep');
    mkdirSync(sub, { recursive: true });
    expect(findLocalCluster(project)).toEqual({ cluster: cluster(), folder: `.belfry${sep}` });
    expect(findLocalCluster(sub)?.folder).toBe(`..${sep}..${sep}.belfry${sep}`);
  });

  it('is ignored when its writer is gone, its server stopped, or its port is another server', () => {
    const dead = spawnSync(process.execPath, ['-e', 'process.pid']).pid!;
    writeLocalCluster(file, cluster({ pid: dead }));
    serverRunning(54329);
    expect(findLocalCluster(project)).toBeUndefined();

    writeLocalCluster(file, cluster());
    rmSync(join(dataDir, 'postmaster.pid'));
    expect(findLocalCluster(project)).toBeUndefined();

    serverRunning(54400);
    expect(findLocalCluster(project)).toBeUndefined();
  });

  it('is ignored when its data directory is not in that .belfry/ (a copied file)', () => {
    writeLocalCluster(file, cluster({ dataDir: join(tmpdir(), 'someone-else', 'pg') }));
    expect(findLocalCluster(project)).toBeUndefined();
  });

  it('is removed by its writer only', () => {
    writeLocalCluster(file, cluster({ pid: 1 }));
    removeLocalCluster(file, process.pid);
    expect(statSync(file).isFile()).toBe(true);
    removeLocalCluster(file, 1);
    expect(() => statSync(file)).toThrow();
  });
});

describe('choosing the database', () => {
  it('takes --database-url, then DATABASE_URL, then the local cluster', () => {
    writeLocalCluster(file, cluster({ schema: 'demo' }));
    serverRunning(54329);
    const env = readSettings({ DATABASE_URL: 'postgres://env@h/db' });
    expect(chooseDatabase(env, 'postgres://flag@h/db', project)).toEqual({ url: 'postgres://flag@h/db' });
    expect(chooseDatabase(env, undefined, project)).toEqual({ url: 'postgres://env@h/db' });
    expect(chooseDatabase(readSettings({}), undefined, project)).toEqual({
      url: cluster().url,
      schema: 'demo',
      localFolder: `.belfry${sep}`,
    });
  });

  it('without any, says both ways to get a database in one line', () => {
    expect(() => chooseDatabase(readSettings({}), undefined, project)).toThrow(
      /^no database: set DATABASE_URL \(or pass --database-url\), or run `npm start` \(belfry dev\) in this project to start a local cluster$/,
    );
  });

  it('says where the database came from, dim on a terminal only', () => {
    expect(localClusterNotice('.belfry/', false)).toBe('using the local cluster in .belfry/\n');
    expect(localClusterNotice('.belfry/', true)).toBe('\x1b[2musing the local cluster in .belfry/\x1b[0m\n');
  });
});
