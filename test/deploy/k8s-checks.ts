// Semantic rules for the rendered Kubernetes manifests: the mistakes a schema cannot see (a probe on
// the wrong path, DATABASE_URL in clear text, a PDB that selects nothing). Each check returns the
// problems it found so that tests can also show a broken manifest failing.
import { asArr, asObj, isObj, parseDurationSeconds, type Obj } from './support.js';

const str = (v: unknown): string => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '');
const labelsOf = (v: unknown): Record<string, string> => asObj(v) as Record<string, string>;

function selects(selector: Record<string, string>, labels: Record<string, string>): boolean {
  const entries = Object.entries(selector);
  return entries.length > 0 && entries.every(([k, v]) => labels[k] === v);
}

const nameOf = (r: Obj): string => `${str(r.kind)}/${str(asObj(r.metadata).name)}`;
const byKind = (resources: Obj[], kind: string): Obj[] => resources.filter((r) => r.kind === kind);
const podSpecOf = (workload: Obj): Obj => asObj(asObj(asObj(workload.spec).template).spec);
const podLabelsOf = (workload: Obj): Record<string, string> =>
  labelsOf(asObj(asObj(asObj(workload.spec).template).metadata).labels);

function envOf(container: Obj): Obj[] {
  return asArr(container.env).filter(isObj);
}
function envValue(container: Obj, name: string): string | undefined {
  const e = envOf(container).find((x) => x.name === name);
  return e && typeof e.value === 'string' ? e.value : undefined;
}

/** Checks shared by every workload: secrets, security context, resources, image. */
function checkPodSecurity(where: string, pod: Obj, container: Obj, problems: string[]): void {
  const podSc = asObj(pod.securityContext);
  const sc = asObj(container.securityContext);
  if (sc.runAsNonRoot !== true && podSc.runAsNonRoot !== true)
    problems.push(`${where}: runAsNonRoot is not true`);
  const uid = sc.runAsUser ?? podSc.runAsUser;
  if (uid === 0) problems.push(`${where}: runAsUser is 0 (root)`);
  if (sc.readOnlyRootFilesystem !== true) problems.push(`${where}: readOnlyRootFilesystem is not true`);
  if (sc.allowPrivilegeEscalation !== false) problems.push(`${where}: allowPrivilegeEscalation is not false`);
  if (!asArr(asObj(sc.capabilities).drop).includes('ALL'))
    problems.push(`${where}: capabilities do not drop ALL`);
  const resources = asObj(container.resources);
  for (const kind of ['requests', 'limits'] as const) {
    for (const res of ['cpu', 'memory'] as const) {
      if (asObj(resources[kind])[res] === undefined)
        problems.push(`${where}: resources.${kind}.${res} is not set`);
    }
  }
  const image = str(container.image);
  if (!/^[^@]+:[^/:]+$|@sha256:/.test(image) || image.endsWith(':latest')) {
    problems.push(`${where}: image "${image}" has no fixed tag or digest`);
  }
  // A read-only root filesystem needs somewhere to write temporary files.
  const mounts = asArr(container.volumeMounts).filter(isObj);
  const tmp = mounts.find((m) => m.mountPath === '/tmp');
  if (!tmp) problems.push(`${where}: no writable /tmp mount (read-only root filesystem)`);
  const db = envOf(container).find((e) => e.name === 'DATABASE_URL');
  if (!db) problems.push(`${where}: DATABASE_URL is not set`);
  else {
    const ref = asObj(asObj(db.valueFrom).secretKeyRef);
    if (db.value !== undefined || !ref.name || !ref.key)
      problems.push(`${where}: DATABASE_URL does not come from a Secret`);
    if (ref.optional === true) problems.push(`${where}: DATABASE_URL's secretKeyRef is optional`);
  }
  // $(VAR) references only expand variables defined earlier in the list.
  const defined = new Set<string>();
  for (const e of envOf(container)) {
    for (const m of str(e.value).matchAll(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g)) {
      if (m[1] && !defined.has(m[1]))
        problems.push(`${where}: env ${str(e.name)} references $(${m[1]}) before it is defined`);
    }
    defined.add(str(e.name));
  }
}

function probeProblems(where: string, probe: unknown, path: string, ports: Obj[]): string[] {
  const get = asObj(asObj(probe).httpGet);
  if (!isObj(probe)) return [`${where}: not set`];
  const out: string[] = [];
  if (get.path !== path) out.push(`${where}: path is ${JSON.stringify(get.path)}, expected ${path}`);
  const admin = ports.find((p) => p.name === 'admin');
  if (!admin) out.push(`${where}: the container has no port named admin`);
  else if (get.port !== 'admin' && get.port !== admin.containerPort) {
    out.push(`${where}: port ${JSON.stringify(get.port)} is not the admin port`);
  }
  return out;
}

export function checkDeployment(resources: Obj[]): string[] {
  const problems: string[] = [];
  const deployments = byKind(resources, 'Deployment');
  if (deployments.length !== 1) return [`expected one Deployment, found ${deployments.length}`];
  const dep = deployments[0] as Obj;
  const pod = podSpecOf(dep);
  const container = asArr(pod.containers)
    .filter(isObj)
    .find((c) => c.name === 'belfry');
  if (!container) return [`${nameOf(dep)}: no container named belfry`];
  const where = `${nameOf(dep)} container belfry`;
  checkPodSecurity(where, pod, container, problems);

  const replicas = asObj(dep.spec).replicas;
  if (typeof replicas !== 'number' || replicas < 2)
    problems.push(`${nameOf(dep)}: replicas ${str(replicas)} < 2`);

  const ports = asArr(container.ports).filter(isObj);
  const httpPort = Number(envValue(container, 'BELFRY_HTTP_PORT') ?? 8080);
  const admin = ports.find((p) => p.name === 'admin');
  if (admin && admin.containerPort !== httpPort) {
    problems.push(`${where}: port admin is ${str(admin.containerPort)} but BELFRY_HTTP_PORT is ${httpPort}`);
  }
  problems.push(...probeProblems(`${where} readinessProbe`, container.readinessProbe, '/readyz', ports));
  problems.push(...probeProblems(`${where} livenessProbe`, container.livenessProbe, '/healthz', ports));
  if (container.startupProbe !== undefined) {
    problems.push(...probeProblems(`${where} startupProbe`, container.startupProbe, '/healthz', ports));
  }

  const host = envValue(container, 'BELFRY_HTTP_HOST') ?? '127.0.0.1';
  if (!['0.0.0.0', '::'].includes(host))
    problems.push(`${where}: BELFRY_HTTP_HOST ${host} is not reachable by probes`);
  const token = envOf(container).find((e) => e.name === 'BELFRY_HTTP_TOKEN');
  if (!asObj(asObj(token?.valueFrom).secretKeyRef).name) {
    problems.push(`${where}: BELFRY_HTTP_TOKEN must come from a Secret (required on a non-loopback address)`);
  }

  const shutdown = parseDurationSeconds(envValue(container, 'BELFRY_SHUTDOWN_TIMEOUT') ?? '30s');
  const grace = pod.terminationGracePeriodSeconds;
  if (typeof grace !== 'number' || grace <= Math.max(shutdown, 30)) {
    problems.push(
      `${nameOf(dep)}: terminationGracePeriodSeconds ${str(grace) || '(default 30)'} must exceed BELFRY_SHUTDOWN_TIMEOUT (${shutdown}s) and 30`,
    );
  }

  // The config file the container is told to read must be inside a mounted, rendered ConfigMap.
  const args = asArr(container.args).map(str);
  const configPath = args[args.indexOf('--config') + 1] ?? envValue(container, 'BELFRY_CONFIG');
  if (!args.includes('start')) problems.push(`${where}: args do not run \`start\``);
  if (!configPath) problems.push(`${where}: no --config or BELFRY_CONFIG`);
  else {
    const mount = asArr(container.volumeMounts)
      .filter(isObj)
      .find((m) => configPath.startsWith(`${str(m.mountPath).replace(/\/$/, '')}/`));
    const volume = asArr(pod.volumes)
      .filter(isObj)
      .find((v) => v.name === mount?.name);
    const cmName = str(asObj(volume?.configMap).name);
    const cm = byKind(resources, 'ConfigMap').find((c) => asObj(c.metadata).name === cmName);
    const key = configPath.slice(str(mount?.mountPath).replace(/\/$/, '').length + 1);
    if (!mount || !cm) problems.push(`${where}: ${configPath} is not on a mounted ConfigMap of this render`);
    else if (typeof asObj(cm.data)[key] !== 'string') problems.push(`${nameOf(cm)}: has no key ${key}`);
  }
  return problems;
}

export function checkMigrationJob(resources: Obj[]): string[] {
  const problems: string[] = [];
  const jobs = byKind(resources, 'Job');
  const dep = byKind(resources, 'Deployment')[0];
  const depImage = str(asObj(asArr(podSpecOf(dep ?? {}).containers)[0]).image);
  const migrate = jobs.find((j) =>
    asArr(podSpecOf(j).containers).some((c) => asArr(asObj(c).args).map(str).includes('migrate')),
  );
  if (!migrate) return ['no Job runs `belfry migrate`'];
  const pod = podSpecOf(migrate);
  const container = asObj(asArr(pod.containers)[0]);
  checkPodSecurity(`${nameOf(migrate)} container ${str(container.name)}`, pod, container, problems);
  if (str(container.image) !== depImage) {
    problems.push(
      `${nameOf(migrate)}: image ${str(container.image)} differs from the Deployment's ${depImage}`,
    );
  }
  if (!['Never', 'OnFailure'].includes(str(pod.restartPolicy)))
    problems.push(`${nameOf(migrate)}: bad restartPolicy`);
  return problems;
}

export function checkSelectors(resources: Obj[]): string[] {
  const problems: string[] = [];
  const dep = byKind(resources, 'Deployment')[0];
  if (!dep) return ['no Deployment'];
  const podLabels = podLabelsOf(dep);
  const depSelector = labelsOf(asObj(asObj(dep.spec).selector).matchLabels);
  if (!selects(depSelector, podLabels))
    problems.push(`${nameOf(dep)}: selector does not match its pod template`);
  const otherPods = byKind(resources, 'Job').map(podLabelsOf);
  const container = asObj(asArr(podSpecOf(dep).containers)[0]);
  const containerPorts = asArr(container.ports).filter(isObj);

  const pdbs = byKind(resources, 'PodDisruptionBudget');
  if (pdbs.length === 0) problems.push('no PodDisruptionBudget');
  for (const pdb of pdbs) {
    const sel = labelsOf(asObj(asObj(pdb.spec).selector).matchLabels);
    if (!selects(sel, podLabels))
      problems.push(`${nameOf(pdb)}: selector does not match the Deployment's pods`);
    if (otherPods.some((l) => selects(sel, l)))
      problems.push(`${nameOf(pdb)}: selector also matches Job pods`);
  }

  const services = byKind(resources, 'Service');
  if (services.length === 0) problems.push('no Service');
  for (const svc of services) {
    const sel = labelsOf(asObj(svc.spec).selector);
    if (!selects(sel, podLabels))
      problems.push(`${nameOf(svc)}: selector does not match the Deployment's pods`);
    if (otherPods.some((l) => selects(sel, l)))
      problems.push(`${nameOf(svc)}: selector also matches Job pods`);
    for (const port of asArr(asObj(svc.spec).ports).filter(isObj)) {
      const target = port.targetPort ?? port.port;
      const ok = containerPorts.some((p) => p.name === target || p.containerPort === target);
      if (!ok) problems.push(`${nameOf(svc)}: targetPort ${str(target)} is not a container port`);
    }
  }

  const monitors = byKind(resources, 'ServiceMonitor');
  if (monitors.length === 0) problems.push('no ServiceMonitor');
  for (const sm of monitors) {
    const sel = labelsOf(asObj(asObj(sm.spec).selector).matchLabels);
    const targets = services.filter((s) => selects(sel, labelsOf(asObj(s.metadata).labels)));
    if (targets.length === 0) problems.push(`${nameOf(sm)}: selector matches no Service`);
    for (const ep of asArr(asObj(sm.spec).endpoints).filter(isObj)) {
      for (const svc of targets) {
        if (!asArr(asObj(svc.spec).ports).some((p) => asObj(p).name === ep.port)) {
          problems.push(
            `${nameOf(sm)}: endpoint port ${JSON.stringify(ep.port)} is not a named port of ${nameOf(svc)}`,
          );
        }
      }
      if (ep.path !== '/metrics')
        problems.push(`${nameOf(sm)}: endpoint path ${str(ep.path)} is not /metrics`);
      const cred = asObj(asObj(ep.authorization).credentials);
      const token = asObj(
        asObj(envOf(container).find((e) => e.name === 'BELFRY_HTTP_TOKEN')?.valueFrom).secretKeyRef,
      );
      if (cred.name !== token.name || cred.key !== token.key) {
        problems.push(`${nameOf(sm)}: scrape credentials are not the Secret that holds BELFRY_HTTP_TOKEN`);
      }
    }
  }
  return problems;
}

/** Every check above, for one rendered overlay. */
export function checkRendered(resources: Obj[]): string[] {
  const namespaces = new Set(resources.map((r) => str(asObj(r.metadata).namespace)));
  const ns = namespaces.size > 1 ? [`resources span several namespaces: ${[...namespaces].join(', ')}`] : [];
  return [
    ...ns,
    ...checkDeployment(resources),
    ...checkMigrationJob(resources),
    ...checkSelectors(resources),
  ];
}
