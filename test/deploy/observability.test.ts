// Prometheus config and alert rules (promtool: syntax, PromQL, and unit tests of every alert), the
// Grafana dashboard (every query parses and names only metrics Belfry exports), runbook links, and
// the OpenTelemetry Collector pipeline.
import { describe, expect, it } from 'vitest';
import {
  asArr,
  asObj,
  clone,
  findTool,
  inCI,
  knownSeriesNames,
  markdownAnchors,
  promqlMetricNames,
  readRepoFile,
  readRepoYaml,
  run,
  substituteGrafanaMacros,
  type Obj,
} from './support.js';

const promtool = findTool(
  'promtool',
  ['--version'],
  'apt-get install -y prometheus (Debian ships promtool in it)',
);
const rulesFile = 'deploy/observability/rules/belfry.rules.yml';
const rules = readRepoYaml<Obj>(rulesFile);
const dashboard = JSON.parse(readRepoFile('deploy/observability/grafana/dashboards/belfry.json')) as Obj;
const operations = readRepoFile('docs/operations.md');

interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  annotations?: Record<string, string>;
}
const alertsOf = (r: Obj): AlertRule[] =>
  asArr(r.groups)
    .flatMap((g) => asArr(asObj(g).rules) as AlertRule[])
    .filter((x) => x.alert);

/** Problems with alert rules: unknown metrics, and runbook links that lead nowhere. */
function checkAlerts(r: Obj, docs: string): string[] {
  const problems: string[] = [];
  const anchors = markdownAnchors(docs);
  for (const a of alertsOf(r)) {
    for (const name of promqlMetricNames(a.expr)) {
      if (!knownSeriesNames.has(name)) problems.push(`${a.alert}: unknown metric ${name}`);
    }
    const url = a.annotations?.runbook_url ?? '';
    const m = /docs\/operations\.md#([\w-]+)$/.exec(url);
    if (!m?.[1])
      problems.push(`${a.alert}: runbook_url ${JSON.stringify(url)} does not link into docs/operations.md`);
    else if (!anchors.has(m[1]))
      problems.push(`${a.alert}: runbook anchor #${m[1]} is not in docs/operations.md`);
  }
  return problems;
}

/** Every PromQL query of a dashboard: panel targets (also in rows) and query variables. */
function dashboardQueries(d: Obj): { where: string; expr: string }[] {
  const out: { where: string; expr: string }[] = [];
  const panels = asArr(d.panels).flatMap((p) => [asObj(p), ...asArr(asObj(p).panels).map(asObj)]);
  for (const p of panels) {
    for (const t of asArr(p.targets).map(asObj))
      out.push({ where: `panel "${String(p.title)}"`, expr: String(t.expr ?? '') });
  }
  for (const v of asArr(asObj(d.templating).list).map(asObj)) {
    if (v.type !== 'query') continue;
    const q = typeof v.query === 'string' ? v.query : String(asObj(v.query).query ?? '');
    const inner = /^label_values\((.*),\s*\w+\)$/.exec(q)?.[1] ?? q;
    out.push({ where: `variable $${String(v.name)}`, expr: inner });
  }
  return out;
}

function checkDashboard(d: Obj): string[] {
  const problems: string[] = [];
  for (const { where, expr } of dashboardQueries(d)) {
    try {
      for (const name of promqlMetricNames(substituteGrafanaMacros(expr))) {
        if (!knownSeriesNames.has(name)) problems.push(`${where}: unknown metric ${name}`);
      }
    } catch (e) {
      problems.push(`${where}: ${(e as Error).message}`);
    }
  }
  const ids = asArr(d.panels).map((p) => asObj(p).id);
  if (new Set(ids).size !== ids.length) problems.push('panel ids are not unique');
  return problems;
}

describe('prometheus tooling', () => {
  it('promtool is available (required under CI=true)', (ctx) => {
    if (promtool.missing) {
      if (inCI) throw new Error(promtool.missing);
      ctx.skip(promtool.missing);
    }
  });
});

describe('alert rules', () => {
  it.skipIf(!promtool.path)('pass promtool check rules and promtool check config', () => {
    const rulesCheck = run(promtool.path as string, ['check', 'rules', rulesFile]);
    expect(rulesCheck.stdout + rulesCheck.stderr).toMatch(/SUCCESS/);
    expect(rulesCheck.status).toBe(0);
    const configCheck = run(promtool.path as string, [
      'check',
      'config',
      '--syntax-only',
      'deploy/observability/prometheus.yml',
    ]);
    expect(configCheck.stderr + configCheck.stdout).toMatch(/SUCCESS/);
    expect(configCheck.status).toBe(0);
  });

  it.skipIf(!promtool.path)('fire as their unit tests expect (promtool test rules)', () => {
    const r = run(promtool.path as string, [
      'test',
      'rules',
      'deploy/observability/tests/belfry.rules.test.yml',
    ]);
    expect(r.stdout + r.stderr).toMatch(/SUCCESS/);
    expect(r.status).toBe(0);
  });

  it('cover the four required conditions', () => {
    const byName = new Map(alertsOf(rules).map((a) => [a.alert, a]));
    const noLeader = byName.get('BelfryNoLeader');
    expect(noLeader?.expr).toMatch(/belfry_is_leader/);
    expect(noLeader?.for).toBe('30s');
    expect(byName.get('BelfryFireLagHigh')?.expr).toMatch(
      /histogram_quantile\(0\.99,.*belfry_fire_lag_seconds_bucket.*> 5$/s,
    );
    expect(byName.get('BelfryInstanceDown')?.expr).toMatch(/up\{job="belfry"\} == 0/);
    expect(byName.get('BelfryLiveInstancesBelowExpected')?.expr).toMatch(/belfry_live_instances/);
    expect(byName.get('BelfryHighFailureRate')?.expr).toMatch(/belfry_execution_failures_total/);
  });

  it('use known metrics and link to an existing runbook section', () => {
    expect(alertsOf(rules).length).toBeGreaterThanOrEqual(4);
    expect(checkAlerts(rules, operations)).toEqual([]);
  });

  it('a runbook link to a missing section or an unknown metric fails', () => {
    const bad = clone(rules);
    const first = asObj(asArr(asObj(asArr(bad.groups)[0]).rules)[0]) as unknown as AlertRule;
    first.expr = 'max(belfry_is_leader_total) < 1';
    (first.annotations as Record<string, string>).runbook_url =
      'https://x/docs/operations.md#alert-nosuchalert';
    const problems = checkAlerts(bad, operations).join('\n');
    expect(problems).toMatch(/unknown metric belfry_is_leader_total/);
    expect(problems).toMatch(/runbook anchor #alert-nosuchalert is not in docs\/operations.md/);
    // Removing the section from the docs breaks the real rule's link too.
    const docsWithout = operations.replace('### Alert: BelfryNoLeader', '### Leader trouble');
    expect(checkAlerts(rules, docsWithout).join('\n')).toMatch(/#alert-belfrynoleader is not in/);
  });
});

describe('grafana dashboard', () => {
  it('queries parse and name only Belfry metrics (and up)', () => {
    expect(dashboardQueries(dashboard).length).toBeGreaterThan(10);
    expect(checkDashboard(dashboard)).toEqual([]);
  });

  it('shows fires per second, lag p99, failures, the leader and instances', () => {
    const exprs = dashboardQueries(dashboard).map((q) => q.expr);
    const has = (re: RegExp): boolean => exprs.some((e) => re.test(e));
    expect(has(/rate\(belfry_fires_total/)).toBe(true);
    expect(has(/histogram_quantile\(0\.99,.*belfry_fire_lag_seconds_bucket/)).toBe(true);
    expect(has(/belfry_execution_failures_total/)).toBe(true);
    expect(has(/belfry_is_leader/)).toBe(true);
    expect(has(/belfry_live_instances/)).toBe(true);
  });

  it('a misspelt metric or a broken query fails', () => {
    const bad = clone(dashboard);
    const panel = asArr(bad.panels)
      .map(asObj)
      .find((p) => asArr(p.targets).length > 0) as Obj;
    asObj(asArr(panel.targets)[0]).expr = 'sum(rate(belfry_fire_total[$__rate_interval]))';
    const second = asArr(bad.panels)
      .map(asObj)
      .filter((p) => asArr(p.targets).length > 0)[1] as Obj;
    asObj(asArr(second.targets)[0]).expr = 'sum(rate(belfry_fires_total[5m])';
    const problems = checkDashboard(bad).join('\n');
    expect(problems).toMatch(/unknown metric belfry_fire_total/);
    expect(problems).toMatch(/syntax error/);
  });
});

describe('opentelemetry collector', () => {
  const config = readRepoYaml<Obj>('deploy/observability/otel-collector.yaml');
  const compose = readRepoYaml<Obj>('docker-compose.yml');

  it('pipelines use only defined components and forward traces to Jaeger', () => {
    const pipelines = asObj(asObj(config.service).pipelines);
    expect(Object.keys(pipelines)).toContain('traces');
    for (const [name, p] of Object.entries(pipelines)) {
      for (const section of ['receivers', 'processors', 'exporters'] as const) {
        for (const c of asArr(asObj(p)[section])) {
          expect(Object.keys(asObj(config[section])), `${name}.${section}`).toContain(c);
        }
      }
    }
    const traceExporters = asArr(asObj(pipelines.traces).exporters).map(String);
    const jaeger = traceExporters
      .map((e) => asObj(asObj(config.exporters)[e]))
      .find((e) => /^jaeger:4317$/.test(String(e.endpoint)));
    expect(jaeger, 'an exporter to jaeger:4317 (OTLP/gRPC) in the traces pipeline').toBeDefined();
    expect(Object.keys(asObj(compose.services))).toEqual(
      expect.arrayContaining(['jaeger', 'otel-collector']),
    );
  });

  it('listens for OTLP/HTTP where the replicas send it', () => {
    const http = asObj(asObj(asObj(asObj(config.receivers).otlp).protocols).http);
    expect(String(http.endpoint)).toMatch(/:4318$/);
  });
});

describe('docs/operations.md', () => {
  it('answers the operations questions with measured benchmark numbers', () => {
    const anchors = markdownAnchors(operations);
    for (const a of [
      'sizing',
      'postgresql-high-availability',
      'rolling-upgrades',
      'connection-poolers',
      'backups-of-the-history',
      'runbooks',
    ]) {
      expect(anchors, a).toContain(a);
    }
    // The sizing table carries measured numbers, not placeholders.
    expect(operations).not.toContain('<!-- numbers: bench -->');
    expect(operations).toMatch(/sustained fires per second, no-op job \| [\d,]+ fires\/s/);
    expect(operations).toContain('BELFRY_SESSION_DATABASE_URL');
  });
});
