/**
 * ESLint rules for the import graph of src/ (issue 18, item 1), kept in the repository because the
 * graph and its layers (scripts/import-graph.js) are ours, and so that lint needs no resolver plugin:
 *   - `belfry/no-import-cycle`: no file takes part in an import cycle, type-only imports included.
 *   - `belfry/import-layers`: a file imports only the src/ folders its folder's layer allows (LAYERS).
 *
 * The graph of the other files is read from disk once per lint run; the file being linted contributes
 * its edges from the text ESLint holds, so an editor sees its own unsaved edits.
 */
import path from 'node:path';
import {
  findCycles,
  importsOf,
  layerAllows,
  layerOf,
  LAYERS,
  readGraph,
  shortestPath,
} from './import-graph.js';

const srcDirOf = (context) => path.resolve(context.cwd, 'src');

let cached;
function graphOf(srcDir) {
  if (cached?.srcDir !== srcDir) cached = { srcDir, graph: readGraph(srcDir) };
  return cached.graph;
}

function inSrc(srcDir, file) {
  return file.startsWith(srcDir + path.sep) && file.endsWith('.ts');
}

/** Import and export-from declarations, with the src/ file each names. */
function importNodes(srcDir, file, program) {
  const found = [];
  for (const node of program.body) {
    const source = node.source?.value;
    if (typeof source !== 'string' || !source.startsWith('.')) continue;
    const target = path.resolve(path.dirname(file), source.replace(/\.js$/, '.ts'));
    if (inSrc(srcDir, target)) found.push({ node, target });
  }
  return found;
}

const noImportCycle = {
  meta: {
    type: 'problem',
    docs: { description: 'Forbid import cycles between src/ modules (type-only imports included).' },
    schema: [],
    messages: {
      cycle: 'Import cycle: {{path}}. Move the shared part to a module both can import.',
    },
  },
  create(context) {
    const srcDir = srcDirOf(context);
    const file = path.resolve(context.filename);
    if (!inSrc(srcDir, file)) return {};
    return {
      Program(program) {
        const graph = new Map(graphOf(srcDir));
        graph.set(
          file,
          importsOf(file, context.sourceCode.text).filter((target) => inSrc(srcDir, target)),
        );
        const component = findCycles(graph).find((members) => members.includes(file));
        if (!component) return;
        for (const { node, target } of importNodes(srcDir, file, program)) {
          if (!component.includes(target)) continue;
          const loop = [file, ...shortestPath(graph, component, target, file)];
          const names = loop.map((member) => path.relative(srcDir, member));
          context.report({ node, messageId: 'cycle', data: { path: names.join(' → ') } });
        }
      },
    };
  },
};

const importLayers = {
  meta: {
    type: 'problem',
    docs: {
      description: 'A src/ folder imports only the folders its layer allows (scripts/import-graph.js).',
    },
    schema: [],
    messages: {
      layer:
        "'{{from}}' may not import '{{to}}' (allowed: {{allowed}}); see LAYERS in scripts/import-graph.js.",
      unknown: "The folder '{{from}}' has no layer; add it to LAYERS in scripts/import-graph.js.",
    },
  },
  create(context) {
    const srcDir = srcDirOf(context);
    const file = path.resolve(context.filename);
    if (!inSrc(srcDir, file)) return {};
    const from = layerOf(srcDir, file);
    const layer = LAYERS.find(([name]) => name === from);
    return {
      Program(program) {
        if (!layer) {
          context.report({ node: program, messageId: 'unknown', data: { from } });
          return;
        }
        for (const { node, target } of importNodes(srcDir, file, program)) {
          const to = layerOf(srcDir, target);
          if (layerAllows(from, to)) continue;
          const allowed = layer[1].join(', ') || 'nothing else in src/';
          context.report({ node, messageId: 'layer', data: { from, to, allowed } });
        }
      },
    };
  },
};

export default {
  meta: { name: 'belfry-import-layers' },
  rules: { 'no-import-cycle': noImportCycle, 'import-layers': importLayers },
};
