// Shared helpers for the deployment checks: paths, YAML loading, external tools (required under
// CI=true, skipped with an install hint elsewhere), and the Kubernetes and PromQL parsers.
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parser as promqlParser } from '@prometheus-io/lezer-promql';
import { parseAllDocuments, parse as parseYaml } from 'yaml';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const repoPath = (...parts: string[]): string => join(repoRoot, ...parts);
export const readRepoFile = (...parts: string[]): string => readFileSync(repoPath(...parts), 'utf8');
export const readRepoYaml = <T = unknown>(...parts: string[]): T =>
  parseYaml(readRepoFile(...parts), { merge: true }) as T;

/** A plain JSON-ish object, as YAML documents parse to. */
export type Obj = Record<string, unknown>;
export const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
export const asObj = (v: unknown): Obj => (isObj(v) ? v : {});
export const asArr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
export const clone = <T>(v: T): T => structuredClone(v);

export interface Tool {
  name: string;
  path: string | undefined;
  /** Why the tool is missing and how to install it; undefined when present. */
  missing: string | undefined;
}

/**
 * Finds an external tool. Under CI=true a missing tool must fail the run (see requireTools in
 * each test file); elsewhere the tests that need it are skipped with `missing` as the reason.
 */
export function findTool(name: string, probeArgs: string[], install: string): Tool {
  const which = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  const path = which.status === 0 ? which.stdout.trim() : undefined;
  if (path) {
    const probe = spawnSync(path, probeArgs, { encoding: 'utf8', timeout: 15_000 });
    if (probe.status === 0) return { name, path, missing: undefined };
    return {
      name,
      path: undefined,
      missing: `${name} is installed but \`${name} ${probeArgs.join(' ')}\` failed: ${probe.stderr.trim()}; ${install}`,
    };
  }
  return { name, path: undefined, missing: `${name} not found; ${install}` };
}

export const inCI = process.env.CI === 'true';

export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function run(path: string, args: string[], opts: { cwd?: string; input?: string } = {}): RunResult {
  const r = spawnSync(path, args, {
    cwd: opts.cwd ?? repoRoot,
    input: opts.input,
    encoding: 'utf8',
    timeout: 30_000,
    env: { ...process.env, NO_COLOR: '1' },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

export function runOk(path: string, args: string[], opts: { cwd?: string } = {}): string {
  return execFileSync(path, args, { cwd: opts.cwd ?? repoRoot, encoding: 'utf8', timeout: 30_000 });
}

/** Parses a multi-document YAML stream (kustomize output) into objects; throws on YAML errors. */
export function parseYamlStream(text: string): Obj[] {
  const docs = parseAllDocuments(text);
  const out: Obj[] = [];
  for (const doc of docs) {
    if (doc.errors.length > 0) throw new Error(doc.errors.map((e) => e.message).join('\n'));
    const v: unknown = doc.toJSON();
    if (isObj(v)) out.push(v);
  }
  return out;
}

// ---- Kubernetes schema validation -------------------------------------------------------------
// kubernetes-models ships validators compiled from the Kubernetes OpenAPI schemas (and the
// prometheus-operator CRDs): offline, no cluster. A kind without a model fails the check, so a
// new resource type cannot slip past validation unnoticed.

const require = createRequire(import.meta.url);

interface K8sModel {
  validate(): void;
}
type K8sModelClass = new (data: Obj) => K8sModel;

function modelModule(apiVersion: string, kind: string): string | undefined {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  if (!version || !/^[A-Za-z]+$/.test(kind)) return undefined;
  if (group === 'monitoring.coreos.com') {
    return `@kubernetes-models/prometheus-operator/monitoring.coreos.com/${version}/${kind}`;
  }
  return group === ''
    ? `kubernetes-models/${version}/${kind}`
    : `kubernetes-models/${group}/${version}/${kind}`;
}

/** Returns the schema violations of one manifest, empty when valid. */
export function k8sSchemaErrors(resource: Obj): string[] {
  const apiVersion = String(resource.apiVersion ?? '');
  const kind = String(resource.kind ?? '');
  const name = `${kind}/${String(asObj(resource.metadata).name ?? '?')}`;
  const mod = modelModule(apiVersion, kind);
  let Model: K8sModelClass;
  try {
    if (!mod) throw new Error('bad apiVersion/kind');
    const exports = require(mod) as Record<string, unknown>;
    Model = exports[kind] as K8sModelClass;
    if (typeof Model !== 'function') throw new Error(`no export ${kind}`);
  } catch (e) {
    return [`${name}: no schema for ${apiVersion} ${kind} (${(e as Error).message})`];
  }
  try {
    new Model(resource).validate();
    return [];
  } catch (e) {
    const errors = (e as { errors?: { instancePath?: string; message?: string }[] }).errors;
    if (errors?.length)
      return errors.map((err) => `${name}: ${err.instancePath || '/'} ${err.message ?? ''}`);
    return [`${name}: ${(e as Error).message}`];
  }
}

// ---- PromQL -----------------------------------------------------------------------------------

/** Grafana's macros are not PromQL; replace them with representative values before parsing. */
export function substituteGrafanaMacros(expr: string): string {
  return expr
    .replace(/\$__(rate_interval|interval|range)\b/g, '5m')
    .replace(/\$\{?(\w+)\}?/g, (_m, v: string) => `var_${v}`);
}

/** Metric names selected by a PromQL expression; throws on a syntax error or a __name__ matcher. */
export function promqlMetricNames(expr: string): string[] {
  const tree = promqlParser.parse(expr);
  const names: string[] = [];
  const problems: string[] = [];
  tree.iterate({
    enter(node) {
      if (node.type.isError) problems.push(`syntax error at ${node.from} in: ${expr}`);
      if (node.name === 'Identifier' && node.node.parent?.name === 'VectorSelector') {
        names.push(expr.slice(node.from, node.to));
      }
      if (node.name === 'LabelName' && expr.slice(node.from, node.to) === '__name__') {
        problems.push(`__name__ matchers are not checked; name the metric: ${expr}`);
      }
    },
  });
  if (problems.length > 0) throw new Error(problems.join('\n'));
  return names;
}

/** The metric contract of issue 6: names, and which are histograms (with _bucket/_sum/_count). */
export const belfryCounters = [
  'belfry_fires_total',
  'belfry_execution_failures_total',
  'belfry_retries_total',
  'belfry_misfires_total',
  'belfry_recoveries_total',
  'belfry_vetoes_total',
  'belfry_leader_changes_total',
] as const;
export const belfryGauges = [
  'belfry_executions_in_flight',
  'belfry_is_leader',
  'belfry_live_instances',
] as const;
export const belfryHistograms = [
  'belfry_fire_lag_seconds',
  'belfry_execution_duration_seconds',
  'belfry_acquisition_batch_size',
  'belfry_db_round_trip_seconds',
] as const;

/** Every series name a query may select: the contract's names plus Prometheus' own `up`. */
export const knownSeriesNames: ReadonlySet<string> = new Set([
  ...belfryCounters,
  ...belfryGauges,
  ...belfryHistograms.flatMap((h) => [`${h}_bucket`, `${h}_sum`, `${h}_count`]),
  'up',
]);

// ---- Markdown anchors -------------------------------------------------------------------------

/** GitHub's heading anchors (lower case, punctuation dropped, spaces to dashes) plus explicit ids. */
export function markdownAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  let inFence = false;
  for (const line of markdown.split('\n')) {
    if (/^\s*```/.test(line)) inFence = !inFence;
    if (inFence) continue;
    const m = /^#{1,6}\s+(.+?)\s*#*\s*$/.exec(line);
    if (m?.[1]) {
      const base = m[1]
        .toLowerCase()
        .replace(/<[^>]*>/g, '')
        .replace(/[^\p{L}\p{N}\s_-]/gu, '')
        .trim()
        .replace(/\s/g, '-');
      const n = seen.get(base) ?? 0;
      seen.set(base, n + 1);
      anchors.add(n === 0 ? base : `${base}-${n}`);
    }
    for (const id of line.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) if (id[1]) anchors.add(id[1]);
  }
  return anchors;
}

/** Parses a Go-style duration ("30s", "1m30s", "1500ms") or a bare number of seconds. */
export function parseDurationSeconds(value: string): number {
  const s = value.trim();
  if (/^\d+(\.\d+)?$/.test(s)) return Number(s);
  const units: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600 };
  let total = 0;
  let rest = s;
  while (rest.length > 0) {
    const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)/.exec(rest);
    if (!m?.[1] || !m[2]) throw new Error(`not a duration: ${value}`);
    total += Number(m[1]) * (units[m[2]] ?? 0);
    rest = rest.slice(m[0].length);
  }
  return total;
}
