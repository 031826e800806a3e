/**
 * The import graph of src/, and the layering it must keep (issue 18, item 1). Plain JavaScript so that
 * eslint.config.js can load it without a TypeScript loader; `npm run layers` prints it.
 *
 * The graph counts every import and re-export, type-only ones included: a type-only cycle still ties two
 * modules' designs together, and today's type import is tomorrow's value import.
 *
 * LAYERS says which src/ folders a folder may import. The order is bottom-up: a folder may only name
 * folders listed before it, so the table itself cannot hide a folder-level cycle. Files directly in src/
 * (index.ts, scheduler.ts, scheduler-options.ts) form the `(root)` layer.
 */
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

/** @type {ReadonlyArray<readonly [string, readonly string[]]>} folder → the folders it may import */
export const LAYERS = [
  ['errors', []],
  ['time', ['errors']],
  ['store', ['errors', 'time']],
  ['events', ['errors', 'time', 'store']],
  ['observability', ['errors', 'time']],
  ['service', ['errors', 'time', 'store']],
  ['operations', ['errors', 'time', 'store']],
  ['jobs', ['errors', 'time', 'store', 'observability']],
  ['cluster', ['errors', 'time', 'store', 'events', 'observability', 'service']],
  ['hosted', ['errors', 'time', 'store', 'service']],
  ['listeners', ['errors', 'time', 'store', 'events', 'observability', 'jobs']],
  [
    'engine',
    ['errors', 'time', 'store', 'events', 'observability', 'service', 'jobs', 'cluster', 'listeners'],
  ],
  ['audit', ['errors', 'time', 'store', 'engine']],
  [
    '(root)',
    [
      'errors',
      'time',
      'store',
      'events',
      'observability',
      'service',
      'operations',
      'jobs',
      'cluster',
      'hosted',
      'listeners',
      'engine',
    ],
  ],
  ['config', ['errors', 'time', 'store', 'jobs', '(root)']],
  ['dev', ['errors', 'time', 'store', 'audit']],
  [
    'testing',
    [
      'errors',
      'time',
      'store',
      'events',
      'observability',
      'service',
      'operations',
      'jobs',
      'cluster',
      'listeners',
      'engine',
      'audit',
      '(root)',
      'config',
      'dev',
    ],
  ],
  ['api', ['errors', 'time', 'store', 'observability', 'operations', 'jobs', 'audit', '(root)', 'config']],
  [
    'cli',
    [
      'errors',
      'time',
      'store',
      'observability',
      'operations',
      'jobs',
      'listeners',
      'audit',
      '(root)',
      'config',
      'dev',
      'api',
    ],
  ],
];

/** The layer of a file: its first folder under src/, or `(root)` for a file directly in src/. */
export function layerOf(srcDir, file) {
  const relative = path.relative(srcDir, file).split(path.sep);
  return relative.length === 1 ? '(root)' : relative[0];
}

/** The src/ files a file's source imports or re-exports (relative specifiers only; `.js` names its `.ts`). */
export function importsOf(file, sourceText) {
  const { importedFiles } = ts.preProcessFile(sourceText, true, false);
  const found = [];
  for (const { fileName } of importedFiles) {
    if (!fileName.startsWith('.')) continue;
    const target = path.resolve(path.dirname(file), fileName.replace(/\.js$/, '.ts'));
    if (!found.includes(target)) found.push(target);
  }
  return found;
}

function sourceFiles(dir) {
  const files = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) files.push(...sourceFiles(full));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) files.push(full);
  }
  return files.sort();
}

/** file → the src/ files it imports, for every .ts file under srcDir (read from disk). */
export function readGraph(srcDir) {
  const graph = new Map();
  for (const file of sourceFiles(srcDir)) {
    graph.set(
      file,
      importsOf(file, fs.readFileSync(file, 'utf8')).filter((target) => target.startsWith(srcDir + path.sep)),
    );
  }
  return graph;
}

/** The strongly connected components with more than one file, or one file importing itself (Tarjan). */
export function findCycles(graph) {
  let counter = 0;
  const index = new Map();
  const low = new Map();
  const stack = [];
  const onStack = new Set();
  const cycles = [];
  const visit = (file) => {
    index.set(file, counter);
    low.set(file, counter);
    counter += 1;
    stack.push(file);
    onStack.add(file);
    for (const next of graph.get(file) ?? []) {
      if (!graph.has(next)) continue;
      if (!index.has(next)) {
        visit(next);
        low.set(file, Math.min(low.get(file), low.get(next)));
      } else if (onStack.has(next)) {
        low.set(file, Math.min(low.get(file), index.get(next)));
      }
    }
    if (low.get(file) !== index.get(file)) return;
    const component = [];
    let member;
    do {
      member = stack.pop();
      onStack.delete(member);
      component.push(member);
    } while (member !== file);
    if (component.length > 1 || (graph.get(file) ?? []).includes(file)) cycles.push(component.sort());
  };
  for (const file of graph.keys()) if (!index.has(file)) visit(file);
  return cycles;
}

/** The shortest chain of imports from `from` to `to` staying inside `members`, both ends included. */
export function shortestPath(graph, members, from, to) {
  const previous = new Map([[from, null]]);
  const queue = [from];
  while (queue.length > 0) {
    const file = queue.shift();
    if (file === to) {
      const chain = [];
      for (let at = file; at !== null; at = previous.get(at)) chain.unshift(at);
      return chain;
    }
    for (const next of graph.get(file) ?? []) {
      if (members.includes(next) && !previous.has(next)) {
        previous.set(next, file);
        queue.push(next);
      }
    }
  }
  return [from, to];
}

/** Whether a file in layer `from` may import one in layer `to` (same layer always may). */
export function layerAllows(from, to) {
  if (from === to) return true;
  const allowed = LAYERS.find(([name]) => name === from);
  return allowed !== undefined && allowed[1].includes(to);
}

/** Every import that crosses layers against LAYERS, and every folder LAYERS does not name. */
export function layerViolations(srcDir, graph) {
  const known = new Set(LAYERS.map(([name]) => name));
  const violations = [];
  for (const [file, targets] of graph) {
    const from = layerOf(srcDir, file);
    if (!known.has(from)) {
      violations.push({ file, target: null, from, to: null });
      continue;
    }
    for (const target of targets) {
      const to = layerOf(srcDir, target);
      if (!layerAllows(from, to)) violations.push({ file, target, from, to });
    }
  }
  return violations;
}

/** layer → the layers its files actually import (sorted), in LAYERS order. */
export function folderImports(srcDir, graph) {
  const used = new Map(LAYERS.map(([name]) => [name, new Set()]));
  for (const [file, targets] of graph) {
    const from = layerOf(srcDir, file);
    if (!used.has(from)) used.set(from, new Set());
    for (const target of targets) {
      const to = layerOf(srcDir, target);
      if (to !== from) used.get(from).add(to);
    }
  }
  return used;
}
