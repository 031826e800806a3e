// docker-compose.yml: validated by Compose's own parser (`docker compose config` when the plugin
// exists, Debian's docker-compose otherwise), by dclint against the compose-spec JSON Schema, and by
// rules that tie it to the Dockerfile, the Prometheus config and the Grafana provisioning.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DCLinter } from 'dclint';
import { stringify } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import {
  asArr,
  asObj,
  clone,
  findTool,
  inCI,
  parseDurationSeconds,
  readRepoFile,
  readRepoYaml,
  repoPath,
  run,
  type Obj,
  type Tool,
} from './support.js';

const composeV1 = findTool('docker-compose', ['version'], 'apt-get install -y docker-compose');
const dockerCli = findTool('docker', ['compose', 'version'], 'the docker compose plugin (optional)');
const compose: Tool = dockerCli.path ? dockerCli : composeV1;
const composeArgs = (file: string): string[] =>
  compose === dockerCli ? ['compose', '-f', file, 'config', '-q'] : ['-f', file, 'config', '-q'];

const tmp = mkdtempSync(join(tmpdir(), 'belfry-compose-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Writes a compose document next to the real one (relative paths resolve the same way). */
function writeVariant(name: string, doc: Obj): string {
  const file = repoPath(`.compose-check-${process.pid}-${name}.yml`);
  writeFileSync(file, stringify(doc));
  return file;
}

interface LintMessage {
  type: string;
  rule: string;
  message: string;
}

function dclintErrors(file: string): string[] {
  const linter = new DCLinter({
    rules: {
      // Ordering rules are style. The `name` field is rejected by Debian's docker-compose 1.29, and
      // every published port here carries an address, so YAML cannot misread it as a number.
      'require-project-name-field': 0,
      'require-quotes-in-ports': 0,
      'service-keys-order': 0,
      'services-alphabetical-order': 0,
      'top-level-properties-order': 0,
    },
    quiet: false,
    debug: false,
    exclude: [],
  });
  return linter
    .lintFiles([file], false)
    .flatMap((r: { messages: LintMessage[] }) => r.messages)
    .map((m: LintMessage) => `${m.type} ${m.rule}: ${m.message}`);
}

const doc = readRepoYaml<Obj>('docker-compose.yml');
const services = asObj(doc.services);
const belfryServices = Object.entries(services).filter(([, s]) => asObj(asObj(s).build).context === '.');

/** Rules that catch real mistakes in the stack; returns the problems found. */
function checkCompose(d: Obj): string[] {
  const problems: string[] = [];
  const svcs = asObj(d.services);
  const replicas = Object.entries(svcs).filter(([, s]) => asObj(asObj(s).build).context === '.');
  if (replicas.length !== 3)
    problems.push(`expected 3 Belfry replicas built from the Dockerfile, found ${replicas.length}`);
  const pg = asObj(svcs.postgres);
  if (!/^postgres:16([.-]|$)/.test(String(pg.image)))
    problems.push(`postgres image ${String(pg.image)} is not PostgreSQL 16`);
  if (!asObj(pg.healthcheck).test) problems.push('postgres has no healthcheck');
  const names = new Set<string>();
  for (const [name, raw] of replicas) {
    const s = asObj(raw);
    const env = asObj(s.environment);
    if (asObj(asObj(s.depends_on).postgres).condition !== 'service_healthy') {
      problems.push(`${name}: does not depend on postgres being healthy`);
    }
    if (!String(env.DATABASE_URL ?? '').includes('@postgres:5432/'))
      problems.push(`${name}: DATABASE_URL does not point at postgres`);
    if (env.BELFRY_HTTP_HOST !== '0.0.0.0') problems.push(`${name}: BELFRY_HTTP_HOST is not 0.0.0.0`);
    if (!env.BELFRY_HTTP_TOKEN) problems.push(`${name}: no BELFRY_HTTP_TOKEN (required on 0.0.0.0)`);
    if (!String(env.OTEL_EXPORTER_OTLP_ENDPOINT ?? '').startsWith('http://otel-collector:4318')) {
      problems.push(`${name}: OTEL_EXPORTER_OTLP_ENDPOINT does not point at the collector's OTLP/HTTP port`);
    }
    if (!asArr(s.volumes).includes('./examples/belfry.yaml:/etc/belfry/belfry.yaml:ro')) {
      problems.push(`${name}: examples/belfry.yaml is not mounted at /etc/belfry/belfry.yaml`);
    }
    const shutdown = parseDurationSeconds(String(env.BELFRY_SHUTDOWN_TIMEOUT ?? '30s'));
    if (parseDurationSeconds(String(s.stop_grace_period ?? '10s')) <= shutdown) {
      problems.push(`${name}: stop_grace_period does not exceed BELFRY_SHUTDOWN_TIMEOUT`);
    }
    const name_ = String(env.BELFRY_INSTANCE_NAME ?? '');
    if (!name_ || names.has(name_)) problems.push(`${name}: BELFRY_INSTANCE_NAME missing or not unique`);
    names.add(name_);
  }
  for (const svc of ['prometheus', 'otel-collector', 'jaeger', 'grafana']) {
    if (!svcs[svc]) problems.push(`no ${svc} service`);
  }
  return problems;
}

describe('compose tooling', () => {
  it('a compose implementation is available (required under CI=true)', (ctx) => {
    if (!compose.path) {
      if (inCI) throw new Error(composeV1.missing);
      ctx.skip(composeV1.missing);
    }
  });
});

describe('docker-compose.yml', () => {
  it.skipIf(!compose.path)('is accepted by Compose (config -q)', () => {
    const r = run(compose.path as string, composeArgs(repoPath('docker-compose.yml')));
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('validates against the compose-spec schema and dclint rules', () => {
    expect(dclintErrors(repoPath('docker-compose.yml'))).toEqual([]);
  });

  it('passes the stack rules', () => {
    expect(checkCompose(doc)).toEqual([]);
  });

  it('mounts only files that exist in the repository', () => {
    const missing: string[] = [];
    for (const [name, s] of Object.entries(services)) {
      for (const v of asArr(asObj(s).volumes)) {
        const src = String(v).split(':')[0] ?? '';
        if (src.startsWith('./') && !existsSync(repoPath(src))) missing.push(`${name}: ${src}`);
      }
    }
    // examples/belfry.yaml belongs to the core issue; everything else is deploy/ and must exist.
    expect(missing.filter((m) => !m.endsWith('./examples/belfry.yaml'))).toEqual([]);
  });

  it('gives Prometheus the token and the targets of the replicas', () => {
    const prom = readRepoYaml<Obj>('deploy/observability/prometheus.yml');
    const job = asArr(prom.scrape_configs)
      .map(asObj)
      .find((j) => j.job_name === 'belfry');
    expect(job, 'scrape job "belfry" (the alert rules select job="belfry")').toBeDefined();
    const targets = asArr(asObj(asArr(asObj(job).static_configs)[0]).targets);
    expect(targets.sort()).toEqual(belfryServices.map(([n]) => `${n}:8080`).sort());
    for (const [name, s] of belfryServices) {
      expect(asObj(asObj(job).authorization).credentials, name).toBe(
        asObj(asObj(s).environment).BELFRY_HTTP_TOKEN,
      );
    }
    const promVolumes = asArr(asObj(services.prometheus).volumes).map(String);
    expect(promVolumes).toContain('./deploy/observability/rules:/etc/prometheus/rules:ro');
    expect(prom.rule_files).toEqual(['/etc/prometheus/rules/*.yml']);
  });

  it('provisions the Grafana dashboard from the mounted folder', () => {
    const provider = asObj(
      asArr(
        readRepoYaml<Obj>('deploy/observability/grafana/provisioning/dashboards/belfry.yml').providers,
      )[0],
    );
    const grafanaVolumes = asArr(asObj(services.grafana).volumes).map(String);
    expect(grafanaVolumes).toContain(
      `./deploy/observability/grafana/dashboards:${String(asObj(provider.options).path)}:ro`,
    );
    expect(grafanaVolumes).toContain(
      './deploy/observability/grafana/provisioning:/etc/grafana/provisioning:ro',
    );
    expect(readRepoFile('deploy/observability/grafana/dashboards/belfry.json')).toContain('"uid": "belfry"');
  });

  it('a broken stack fails the checks', () => {
    const bad = clone(doc);
    const b1 = asObj(asObj(bad.services)['belfry-1']);
    delete asObj(b1.depends_on).postgres;
    delete asObj(b1.environment).DATABASE_URL;
    asObj(asObj(bad.services).postgres).image = 'postgres:15';
    b1.stop_grace_period = '30s';
    const problems = checkCompose(bad).join('\n');
    expect(problems).toMatch(/belfry-1: does not depend on postgres being healthy/);
    expect(problems).toMatch(/belfry-1: DATABASE_URL does not point at postgres/);
    expect(problems).toMatch(/is not PostgreSQL 16/);
    expect(problems).toMatch(/belfry-1: stop_grace_period does not exceed/);
  });

  it('a schema error fails dclint and Compose', () => {
    const bad = clone(doc);
    asObj(asObj(bad.services).postgres).healthcheck = { test: 5 };
    asObj(asObj(bad.services)['belfry-2']).restart_policy = 'always';
    const file = writeVariant('bad', bad);
    try {
      expect(dclintErrors(file).join('\n')).toMatch(/invalid-schema/);
      if (compose.path) {
        const r = run(compose.path, composeArgs(file));
        expect(r.status).not.toBe(0);
      }
    } finally {
      rmSync(file, { force: true });
    }
  });
});
