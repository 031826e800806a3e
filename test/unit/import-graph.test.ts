import path from 'node:path';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: plain JavaScript shared with eslint.config.js, no declaration file
import * as importGraph from '../../scripts/import-graph.js';

type Graph = Map<string, string[]>;
const { findCycles, LAYERS, layerAllows, shortestPath } = importGraph as {
  findCycles: (graph: Graph) => string[][];
  LAYERS: ReadonlyArray<readonly [string, readonly string[]]>;
  layerAllows: (from: string, to: string) => boolean;
  shortestPath: (graph: Graph, members: string[], from: string, to: string) => string[];
};

const graphOf = (edges: Record<string, string[]>): Graph => new Map(Object.entries(edges));

describe('import graph', () => {
  it('finds a cycle of two, a longer one and a self-import, and nothing in a tree', () => {
    const graph = graphOf({
      a: ['b'],
      b: ['a', 'c'],
      c: ['d'],
      d: ['e'],
      e: ['c'],
      f: ['f'],
      g: ['h'],
      h: [],
    });
    expect(findCycles(graph).sort()).toEqual([['a', 'b'], ['c', 'd', 'e'], ['f']].sort());
    expect(findCycles(graphOf({ a: ['b', 'c'], b: ['c'], c: [] }))).toEqual([]);
  });

  it('names the shortest loop back through a component', () => {
    const graph = graphOf({ a: ['b'], b: ['c', 'a'], c: ['a'] });
    expect(shortestPath(graph, ['a', 'b', 'c'], 'b', 'a')).toEqual(['b', 'a']);
    expect(shortestPath(graph, ['a', 'b', 'c'], 'c', 'b')).toEqual(['c', 'a', 'b']);
  });

  it('keeps the layer table itself acyclic: a layer names only layers listed before it', () => {
    LAYERS.forEach(([name, allowed], level) => {
      const below = LAYERS.slice(0, level).map(([layer]) => layer);
      for (const layer of allowed) expect(below, `${name} → ${layer}`).toContain(layer);
    });
  });

  it('holds the rules issue 18 names: time imports only errors, store only time and errors', () => {
    const others = LAYERS.map(([name]) => name);
    expect(others.filter((to) => to !== 'time' && layerAllows('time', to))).toEqual(['errors']);
    expect(others.filter((to) => to !== 'store' && layerAllows('store', to)).sort()).toEqual([
      'errors',
      'time',
    ]);
    for (const [from] of LAYERS) {
      if (from === 'cli' || from === 'api') continue;
      expect(layerAllows(from, 'cli'), `${from} → cli`).toBe(false);
      expect(layerAllows(from, 'api'), `${from} → api`).toBe(false);
    }
  });

  it('src/ has no import cycle and every import follows the layers', () => {
    const srcDir = path.resolve('src');
    const { readGraph, layerViolations } = importGraph as {
      readGraph: (dir: string) => Graph;
      layerViolations: (dir: string, graph: Graph) => Array<{ file: string; target: string | null }>;
    };
    const graph = readGraph(srcDir);
    const show = (file: string | null) => file && path.relative(srcDir, file);
    expect(findCycles(graph).map((cycle) => cycle.map(show))).toEqual([]);
    expect(layerViolations(srcDir, graph).map(({ file, target }) => [show(file), show(target)])).toEqual([]);
  });
});
