// Renders every kustomize overlay with `kubectl kustomize`, validates each manifest against the
// Kubernetes (and prometheus-operator) schemas, and applies the semantic rules of k8s-checks.ts.
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { checkDeployment, checkRendered, checkSelectors } from './k8s-checks.js';
import {
  asArr,
  asObj,
  clone,
  findTool,
  inCI,
  isObj,
  k8sSchemaErrors,
  parseYamlStream,
  readRepoYaml,
  repoPath,
  run,
  type Obj,
} from './support.js';

const kubectl = findTool(
  'kubectl',
  ['kustomize', '--help'],
  "install kubectl >= 1.27 (the image ships google-cloud-cli's `kubectl`; Debian 12's kubernetes-client 1.20 is too old for `labels:`)",
);

const overlays = readdirSync(repoPath('deploy/kubernetes/overlays'));
const targets = ['base', ...overlays.map((o) => `overlays/${o}`)];

function render(target: string): Obj[] {
  const r = run(kubectl.path as string, ['kustomize', repoPath('deploy/kubernetes', target)]);
  if (r.status !== 0) throw new Error(`kubectl kustomize ${target} failed:\n${r.stderr}`);
  return parseYamlStream(r.stdout);
}

describe('kubernetes tooling', () => {
  it('kubectl is available (required under CI=true)', (ctx) => {
    if (kubectl.missing) {
      if (inCI) throw new Error(kubectl.missing);
      ctx.skip(kubectl.missing);
    }
  });
});

describe.skipIf(!kubectl.path).each(targets)('kustomize %s', (target) => {
  const resources = kubectl.path ? render(target) : [];

  it('renders the resources the issue asks for', () => {
    const kinds = resources.map((r) => r.kind).sort();
    expect(kinds).toEqual(
      expect.arrayContaining([
        'ConfigMap',
        'Deployment',
        'Job',
        'PodDisruptionBudget',
        'PrometheusRule',
        'Service',
        'ServiceMonitor',
      ]),
    );
  });

  it('validates against the Kubernetes schemas', () => {
    expect(resources.flatMap(k8sSchemaErrors)).toEqual([]);
  });

  it('passes the semantic checks', () => {
    expect(checkRendered(resources)).toEqual([]);
  });

  if (target !== 'base') {
    it('sets a namespace and its own image', () => {
      for (const r of resources) expect(asObj(r.metadata).namespace, String(r.kind)).toBeTruthy();
    });
  }
});

describe.skipIf(!kubectl.path)('checks catch broken manifests', () => {
  const base = kubectl.path ? render('base') : [];
  const mutate = (fn: (resources: Obj[]) => void): Obj[] => {
    const copy = clone(base);
    fn(copy);
    return copy;
  };
  const container = (resources: Obj[]): Obj => {
    const dep = resources.find((r) => r.kind === 'Deployment') as Obj;
    return asArr(asObj(asObj(asObj(dep.spec).template).spec).containers)[0] as Obj;
  };
  const podSpec = (resources: Obj[]): Obj => {
    const dep = resources.find((r) => r.kind === 'Deployment') as Obj;
    return asObj(asObj(asObj(dep.spec).template).spec);
  };

  it('the unmodified base passes', () => {
    expect(checkRendered(base)).toEqual([]);
  });

  it('a readiness probe on the wrong path fails', () => {
    const bad = mutate((rs) => {
      asObj(asObj(container(rs).readinessProbe).httpGet).path = '/healthz';
    });
    expect(checkDeployment(bad).join('\n')).toMatch(/readinessProbe: path is "\/healthz", expected \/readyz/);
  });

  it('a liveness probe on another port fails', () => {
    const bad = mutate((rs) => {
      asObj(asObj(container(rs).livenessProbe).httpGet).port = 9090;
    });
    expect(checkDeployment(bad).join('\n')).toMatch(/livenessProbe: port 9090 is not the admin port/);
  });

  it('a missing DATABASE_URL fails', () => {
    const bad = mutate((rs) => {
      const c = container(rs);
      c.env = asArr(c.env).filter((e) => asObj(e).name !== 'DATABASE_URL');
    });
    expect(checkDeployment(bad)).toContain('Deployment/belfry container belfry: DATABASE_URL is not set');
  });

  it('DATABASE_URL in clear text fails', () => {
    const bad = mutate((rs) => {
      const e = asArr(container(rs).env).find((x) => asObj(x).name === 'DATABASE_URL') as Obj;
      delete e.valueFrom;
      e.value = 'postgres://belfry:secret@db/belfry';
    });
    expect(checkDeployment(bad).join('\n')).toMatch(/DATABASE_URL does not come from a Secret/);
  });

  it('a grace period no longer than the shutdown timeout fails', () => {
    const bad = mutate((rs) => {
      podSpec(rs).terminationGracePeriodSeconds = 30;
    });
    expect(checkDeployment(bad).join('\n')).toMatch(/terminationGracePeriodSeconds 30 must exceed/);
  });

  it('a writable root filesystem, root user or missing limits fail', () => {
    const bad = mutate((rs) => {
      const c = container(rs);
      asObj(c.securityContext).readOnlyRootFilesystem = false;
      delete asObj(c.securityContext).runAsNonRoot;
      delete asObj(podSpec(rs).securityContext).runAsNonRoot;
      delete asObj(c.resources).limits;
    });
    const text = checkDeployment(bad).join('\n');
    expect(text).toMatch(/readOnlyRootFilesystem is not true/);
    expect(text).toMatch(/runAsNonRoot is not true/);
    expect(text).toMatch(/resources.limits.memory is not set/);
  });

  it('a PDB or Service selector that misses the pods fails', () => {
    const bad = mutate((rs) => {
      for (const r of rs) {
        if (r.kind === 'PodDisruptionBudget')
          asObj(asObj(asObj(r.spec).selector).matchLabels)['app.kubernetes.io/component'] = 'web';
        if (r.kind === 'Service') asObj(r.spec).selector = { 'app.kubernetes.io/name': 'belfry' };
      }
    });
    const text = checkSelectors(bad).join('\n');
    expect(text).toMatch(/PodDisruptionBudget\/belfry: selector does not match the Deployment's pods/);
    expect(text).toMatch(/Service\/belfry: selector also matches Job pods/);
  });

  it('a ServiceMonitor on a port the Service does not have fails', () => {
    const bad = mutate((rs) => {
      const sm = rs.find((r) => r.kind === 'ServiceMonitor') as Obj;
      asObj(asArr(asObj(sm.spec).endpoints)[0]).port = 'metrics';
    });
    expect(checkSelectors(bad).join('\n')).toMatch(
      /endpoint port "metrics" is not a named port of Service\/belfry/,
    );
  });

  it('a schema violation fails validation', () => {
    const bad = mutate((rs) => {
      const ports = asArr(container(rs).ports);
      asObj(ports[0]).containerPort = 'eighty';
    });
    const dep = bad.find((r) => r.kind === 'Deployment') as Obj;
    expect(k8sSchemaErrors(dep).join('\n')).toMatch(/containerPort must be integer/);
  });
});

describe('PrometheusRule', () => {
  it('carries exactly the rules of deploy/observability/rules/belfry.rules.yml', () => {
    const rule = readRepoYaml<Obj>('deploy/kubernetes/base/prometheusrule.yaml');
    const source = readRepoYaml<Obj>('deploy/observability/rules/belfry.rules.yml');
    expect(isObj(rule.spec)).toBe(true);
    expect(rule.spec).toEqual(source);
  });
});
