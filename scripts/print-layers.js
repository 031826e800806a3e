/**
 * `npm run layers`: prints src/'s import graph by layer, bottom-up: each folder, the folders it imports
 * today, and what LAYERS would still allow it. Then any import cycle and any import against the layers
 * (the same checks lint makes), exiting 1 if there is one.
 */
import path from 'node:path';
import { findCycles, folderImports, LAYERS, layerViolations, readGraph } from './import-graph.js';

const srcDir = path.resolve(process.argv[2] ?? 'src');
const graph = readGraph(srcDir);
const used = folderImports(srcDir, graph);
const files = new Map();
for (const file of graph.keys()) {
  const layer = path.relative(srcDir, file).split(path.sep);
  const name = layer.length === 1 ? '(root)' : layer[0];
  files.set(name, (files.get(name) ?? 0) + 1);
}

const width = Math.max(...LAYERS.map(([name]) => name.length));
console.log(
  `src/ layers, bottom-up (${graph.size} files): a folder imports only folders above it in this list\n`,
);
LAYERS.forEach(([name, allowed], level) => {
  const imports = [...(used.get(name) ?? [])].sort(
    (a, b) => LAYERS.findIndex(([n]) => n === a) - LAYERS.findIndex(([n]) => n === b),
  );
  const unused = allowed.filter((layer) => !imports.includes(layer));
  const count = `${files.get(name) ?? 0} files`.padStart(9);
  const line = `${String(level).padStart(2)}  ${name.padEnd(width)} ${count}  imports: ${imports.join(', ') || '-'}`;
  console.log(unused.length > 0 ? `${line}   (may also: ${unused.join(', ')})` : line);
});

const cycles = findCycles(graph);
const violations = layerViolations(srcDir, graph);
const show = (file) => path.relative(srcDir, file);
if (cycles.length + violations.length > 0) console.log('');
for (const cycle of cycles) console.log(`cycle: ${cycle.map(show).join(' ↔ ')}`);
for (const { file, target, from, to } of violations) {
  console.log(
    target === null
      ? `no layer: ${show(file)} (folder '${from}' is not in LAYERS)`
      : `against the layers: ${show(file)} (${from}) imports ${show(target)} (${to})`,
  );
}
console.log(
  cycles.length + violations.length === 0
    ? '\nno import cycles; every import follows the layers'
    : `\n${cycles.length} cycle(s), ${violations.length} import(s) against the layers`,
);
process.exitCode = cycles.length + violations.length === 0 ? 0 : 1;
