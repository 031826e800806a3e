// The Dockerfile, without a Docker engine: dockerfile-utils (the VS Code Docker extension's
// validator) for syntax and flags, then rules in the spirit of hadolint for this image's contract.
import { existsSync } from 'node:fs';
import { DockerfileParser, type Instruction } from 'dockerfile-ast';
import { validate, ValidationSeverity } from 'dockerfile-utils';
import { describe, expect, it } from 'vitest';
import { readRepoFile, repoPath } from './support.js';

const E = ValidationSeverity.ERROR;

export function lintDockerfile(content: string): string[] {
  return validate(content, {
    deprecatedMaintainer: E,
    directiveCasing: E,
    emptyContinuationLine: E,
    instructionCasing: E,
    instructionCmdMultiple: E,
    instructionEntrypointMultiple: E,
    instructionHealthcheckMultiple: E,
    instructionJSONInSingleQuotes: E,
    instructionWorkdirRelative: E,
  }).map((d) => `line ${d.range.start.line + 1}: ${d.message}`);
}

/** Converts a .dockerignore pattern to a RegExp over context-relative paths (and their parents). */
function ignoreRegExp(pattern: string): RegExp {
  const p = pattern.replace(/^\.?\//, '').replace(/\/$/, '');
  let re = '';
  for (let i = 0; i < p.length; i++) {
    const c = p.charAt(i);
    if (c === '*' && p.charAt(i + 1) === '*') {
      re += '.*';
      i++;
      if (p.charAt(i + 1) === '/') i++;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}(/.*)?$`);
}

export function isIgnored(path: string, dockerignore: string): boolean {
  let ignored = false;
  for (const raw of dockerignore.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const negate = line.startsWith('!');
    if (ignoreRegExp(negate ? line.slice(1) : line).test(path.replace(/^\.\//, '').replace(/\/$/, '')))
      ignored = !negate;
  }
  return ignored;
}

const args = (i: Instruction): string[] => i.getArguments().map((a) => a.getValue());

/** Rules for Belfry's image; returns the problems found. */
export function checkDockerfile(
  content: string,
  dockerignore: string,
  fileExists: (p: string) => boolean,
): string[] {
  const problems: string[] = [];
  const df = DockerfileParser.parse(content);
  const froms = df.getFROMs();
  if (froms.length < 2) problems.push('not a multi-stage build');
  const argDefaults = new Map<string, string>();
  const preamble = content.slice(0, content.search(/^FROM /m));
  for (const m of preamble.matchAll(/^ARG\s+(\w+)=(\S*)/gm)) if (m[1]) argDefaults.set(m[1], m[2] ?? '');
  const stages = new Set<string>();
  for (const from of froms) {
    const image = (from.getImage() ?? '').replace(
      /\$\{?(\w+)\}?/g,
      (_m, v: string) => argDefaults.get(v) ?? '',
    );
    if (!stages.has(image) && (!/:[\w.-]+$|@sha256:/.test(image) || image.endsWith(':latest'))) {
      problems.push(`FROM ${image}: pin a tag other than latest`);
    }
    const stage = from.getBuildStage();
    if (stage) stages.add(stage);
  }

  const all = df.getInstructions();
  const lastFrom = froms[froms.length - 1];
  const finalStart = lastFrom ? lastFrom.getRange().start.line : 0;
  const final = all.filter((i) => i.getRange().start.line >= finalStart);
  const kw = (i: Instruction): string => i.getKeyword().toUpperCase();

  if (all.some((i) => kw(i) === 'ADD')) problems.push('use COPY, not ADD');
  const user = final.filter((i) => kw(i) === 'USER').pop();
  const userName = user ? (args(user)[0] ?? '').split(':')[0] : 'root';
  if (!userName || userName === 'root' || userName === '0')
    problems.push('the runtime stage runs as root (no non-root USER)');
  const hc = final.find((i) => kw(i) === 'HEALTHCHECK');
  if (!hc || !/\/healthz/.test(hc.getArgumentsContent() ?? ''))
    problems.push('no HEALTHCHECK on /healthz in the runtime stage');
  for (const k of ['ENTRYPOINT', 'CMD']) {
    const i = final.filter((x) => kw(x) === k).pop();
    if (i && !(i.getArgumentsContent() ?? '').trim().startsWith('['))
      problems.push(`${k} is not in exec (JSON) form`);
  }
  const startLine = final
    .filter((i) => kw(i) === 'ENTRYPOINT' || kw(i) === 'CMD')
    .map((i) => i.getArgumentsContent() ?? '')
    .join(' ');
  if (!/bin\/belfry\.js/.test(startLine) || !/"start"/.test(startLine))
    problems.push('the image does not run `bin/belfry.js start`');

  // The runtime stage carries exactly what the server needs.
  const copies = final.filter((i) => kw(i) === 'COPY').map((i) => args(i).filter((a) => !a.startsWith('--')));
  const copied = copies.map((a) => a.slice(0, -1).join(' '));
  for (const needed of [
    'dist',
    'ui/dist',
    'bin',
    'migrations',
    'calendars',
    'node_modules',
    'package.json',
  ]) {
    if (
      !copied.some((c) =>
        c.split(' ').some((src) => src.replace(/^\/app\//, '').replace(/\/$/, '') === needed),
      )
    ) {
      problems.push(`the runtime stage does not copy ${needed}`);
    }
  }
  const runs = all.filter((i) => kw(i) === 'RUN').map((i) => i.getArgumentsContent() ?? '');
  if (!runs.some((r) => /npm ci[^&]*--omit=dev/.test(r)))
    problems.push('no production-only `npm ci --omit=dev`');
  // The dashboard is built in the image (npm ci --ignore-scripts skips `prepare`, which builds it).
  if (!runs.some((r) => /npm run build:ui/.test(r)))
    problems.push('the dashboard is not built (npm run build:ui)');
  for (const r of runs.filter((x) => /apt-get install/.test(x))) {
    if (!/--no-install-recommends/.test(r)) problems.push('apt-get install without --no-install-recommends');
    if (!/rm -rf \/var\/lib\/apt\/lists/.test(r))
      problems.push('apt lists are not removed after apt-get install');
  }

  // Every COPY --from names a stage; every context source exists and is not .dockerignored.
  for (const i of all.filter((x) => kw(x) === 'COPY')) {
    const flags = (
      i as unknown as { getFlags(): { getName(): string; getValue(): string | null }[] }
    ).getFlags();
    const from = flags.find((f) => f.getName() === 'from')?.getValue();
    const srcs = args(i).slice(0, -1);
    if (from) {
      if (!stages.has(from)) problems.push(`COPY --from=${from}: no such stage`);
      continue;
    }
    for (const src of srcs) {
      if (!fileExists(src)) problems.push(`COPY ${src}: not in the repository`);
      if (isIgnored(src, dockerignore)) problems.push(`COPY ${src}: excluded by .dockerignore`);
    }
  }
  for (const must of ['node_modules', '.git', 'dist', 'ui/dist']) {
    if (!isIgnored(must, dockerignore)) problems.push(`.dockerignore does not exclude ${must}`);
  }
  const expose = final.find((i) => kw(i) === 'EXPOSE');
  const env = final
    .filter((i) => kw(i) === 'ENV')
    .map((i) => i.getArgumentsContent() ?? '')
    .join(' ');
  const port = /BELFRY_HTTP_PORT=(\d+)/.exec(env)?.[1];
  if (!expose || !port || !args(expose).some((a) => a.split('/')[0] === port)) {
    problems.push('EXPOSE does not match BELFRY_HTTP_PORT');
  }
  if (!/BELFRY_HTTP_HOST=0\.0\.0\.0/.test(env)) problems.push('BELFRY_HTTP_HOST is not 0.0.0.0 in the image');
  return problems;
}

const dockerfile = readRepoFile('Dockerfile');
const dockerignore = readRepoFile('.dockerignore');
const exists = (p: string): boolean => existsSync(repoPath(p));

describe('Dockerfile', () => {
  it('has no syntax or flag errors (dockerfile-utils)', () => {
    expect(lintDockerfile(dockerfile)).toEqual([]);
  });

  it('follows the image rules', () => {
    // calendars/ is created by the calendars issue; until it lands only its absence may be reported.
    const problems = checkDockerfile(dockerfile, dockerignore, exists);
    expect(
      problems.filter((p) => !(p === 'COPY calendars: not in the repository' && !exists('calendars'))),
    ).toEqual([]);
  });

  it('a broken Dockerfile fails the checks', () => {
    const bad = dockerfile
      .replace('USER 1000:1000', 'USER root')
      .replace(/HEALTHCHECK[\s\S]*?\n(?=STOPSIGNAL)/, '')
      .replace('COPY migrations ./migrations', 'COPY migration ./migrations')
      .replace('COPY --from=build /app/dist', 'COPY --from=builder /app/dist')
      .replace('COPY --from=build /app/ui/dist ./ui/dist\n', '')
      .replace('RUN npm run build:ui\n', '');
    expect(lintDockerfile(dockerfile.replace('--interval=10s', '--interval=10x')).join('\n')).toMatch(
      /unknown unit x/,
    );
    const problems = checkDockerfile(bad, `${dockerignore}\nbin\n`, exists).join('\n');
    expect(problems).toMatch(/runs as root/);
    expect(problems).toMatch(/no HEALTHCHECK on \/healthz/);
    expect(problems).toMatch(/COPY migration: not in the repository/);
    expect(problems).toMatch(/COPY bin: excluded by .dockerignore/);
    expect(problems).toMatch(/does not copy migrations/);
    expect(problems).toMatch(/COPY --from=builder: no such stage/);
    expect(problems).toMatch(/does not copy ui\/dist/);
    expect(problems).toMatch(/the dashboard is not built/);
  });

  it('matches .dockerignore patterns like Docker does', () => {
    expect(isIgnored('node_modules', 'node_modules')).toBe(true);
    expect(isIgnored('src/a.log', '**/*.log')).toBe(true);
    expect(isIgnored('a.log', '**/*.log')).toBe(true);
    expect(isIgnored('docs/x.md', 'docs\n!docs/x.md')).toBe(false);
    expect(isIgnored('src', 'node_modules')).toBe(false);
  });
});
