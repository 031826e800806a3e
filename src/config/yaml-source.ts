/**
 * One parsed YAML file and the way back from a path in its data (as zod and the builder report it) to
 * a line and column in the text. Every node keeps its source range because the document is parsed with
 * a LineCounter; a path that does not exist (a missing key) resolves to its nearest existing parent.
 */
import {
  isAlias,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  parseDocument,
  type Document,
  type Node,
  type Pair,
  visit,
  type YAMLMap,
} from 'yaml';
import type { DefinitionError, SourcePosition } from './definition-error.js';

export type DataPath = readonly PropertyKey[];

/** Definition files are small; a bigger one is a mistake or an attack, refused before parsing. */
export const MAX_DEFINITION_FILE_BYTES = 1024 * 1024;
/**
 * Aliases expanded per document. A "billion laughs" file nests aliases so that a few hundred bytes
 * expand to gigabytes; yaml counts the expansions and stops past this many.
 */
export const MAX_ALIAS_COUNT = 100;

export class YamlSource {
  readonly #lineCounter: LineCounter;
  readonly #document: Document.Parsed;
  readonly #mapIndex = new WeakMap<YAMLMap, Map<string, Pair<unknown, unknown>>>();
  #data: unknown;

  private constructor(
    readonly file: string,
    document: Document.Parsed,
    lineCounter: LineCounter,
  ) {
    this.#document = document;
    this.#lineCounter = lineCounter;
  }

  /** Parses `text`; syntax errors (and duplicate keys) come back as errors, never thrown. */
  static parse(file: string, text: string): { source: YamlSource; errors: DefinitionError[] } {
    const lineCounter = new LineCounter();
    const bytes = Buffer.byteLength(text, 'utf8');
    const tooLarge = bytes > MAX_DEFINITION_FILE_BYTES;
    const document = parseDocument(tooLarge ? '' : text, {
      lineCounter,
      prettyErrors: false,
      // Duplicate keys are found below in one pass: yaml's own check compares each key with every earlier
      // one of its map, quadratic in a file of 10,000 triggers (docs/performance.md, apply).
      uniqueKeys: false,
    });
    const source = new YamlSource(file, document, lineCounter);
    if (tooLarge) {
      const limit = `${MAX_DEFINITION_FILE_BYTES / 1024} KiB`;
      const message = `the file is ${Math.ceil(bytes / 1024)} KiB, over the limit of ${limit}; split it into several files`;
      return { source, errors: [{ file, line: 1, column: 1, message }] };
    }
    const errors = [
      ...document.errors.map((error) => ({ offset: error.pos[0], message: syntaxMessage(error.message) })),
      ...duplicateKeyOffsets(document).map((offset) => ({ offset, message: DUPLICATE_KEY_MESSAGE })),
    ]
      .sort((a, b) => a.offset - b.offset)
      .map(({ offset, message }): DefinitionError => ({ ...source.positionAt(offset), message }));
    if (errors.length === 0) {
      try {
        source.#data = document.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) ?? {};
      } catch (error) {
        // The alias limit (or any other failure to build the data) is reported like a syntax error.
        errors.push({
          ...source.positionAt(source.#firstAliasOffset()),
          message: `YAML: ${(error as Error).message.split('\n')[0]} (at most ${MAX_ALIAS_COUNT} alias expansions)`,
        });
      }
    }
    return { source, errors };
  }

  /** The file's data (built once at parse time; `{}` for an empty file). */
  get data(): unknown {
    return this.#data ?? {};
  }

  #firstAliasOffset(): number {
    let offset = 0;
    visit(this.#document, {
      Alias(_key, node) {
        if (isAlias(node) && node.range) {
          offset = node.range[0];
          return visit.BREAK;
        }
        return undefined;
      },
    });
    return offset;
  }

  positionAt(offset: number): SourcePosition {
    const { line, col } = this.#lineCounter.linePos(offset);
    return { file: this.file, line, column: col };
  }

  /** Where the value at `path` is written (or its nearest existing parent). */
  positionOf(path: DataPath): SourcePosition {
    const node = this.#nodeAt(path) ?? this.#nearest(path);
    return this.positionAt(node?.range?.[0] ?? 0);
  }

  /** Where the key `key` of the map at `path` is written (for unknown keys and names). */
  keyPositionOf(path: DataPath, key: string): SourcePosition {
    const map = this.#nodeAt(path);
    if (isMap(map)) {
      const pair = this.#pairOf(map, key);
      const keyNode = pair?.key as Node | undefined;
      if (keyNode?.range) return this.positionAt(keyNode.range[0]);
    }
    return this.positionOf([...path, key]);
  }

  /** Whether the data has a value at `path` (an explicit `null` counts). */
  has(path: DataPath): boolean {
    return this.#nodeAt(path) !== undefined;
  }

  /**
   * The pair of `key` in `map`, from an index built at the first lookup: every entry of a file asks for
   * its own position, and a linear search of the top-level map per entry made loading 10,000 triggers
   * quadratic (docs/performance.md, apply).
   */
  #pairOf(map: YAMLMap, key: string): Pair<unknown, unknown> | undefined {
    let index = this.#mapIndex.get(map);
    if (!index) {
      index = new Map();
      for (const item of map.items as Pair<unknown, unknown>[])
        if (isScalar(item.key) && !index.has(String(item.key.value))) index.set(String(item.key.value), item);
      this.#mapIndex.set(map, index);
    }
    return index.get(key);
  }

  #nodeAt(path: DataPath): Node | undefined {
    if (path.length === 0) return (this.#document.contents as Node | null) ?? undefined;
    let node: unknown = this.#document.contents;
    for (const segment of path) {
      if (isMap(node)) {
        const pair = this.#pairOf(node, String(segment));
        if (!pair) return undefined;
        node = pair.value;
      } else if (isSeq(node) && typeof segment === 'number') {
        node = node.items[segment];
      } else {
        return undefined;
      }
      if (node === undefined || node === null) return undefined;
    }
    return node as Node;
  }

  #nearest(path: DataPath): Node | undefined {
    for (let length = path.length - 1; length >= 0; length -= 1) {
      const parent = path.slice(0, length);
      const node = this.#nodeAt(parent);
      if (node) {
        // Point at the parent's key rather than at its first child when we can.
        if (length > 0) {
          const owner = this.#nodeAt(parent.slice(0, -1));
          if (isMap(owner)) {
            const key = String(parent[parent.length - 1]);
            const pair = (owner.items as Pair<unknown, unknown>[]).find(
              (item) => isScalar(item.key) && String(item.key.value) === key,
            );
            if (pair && (pair.key as Node).range) return pair.key as Node;
          }
        }
        return node;
      }
    }
    return undefined;
  }
}

/** What yaml's own `uniqueKeys` check says, as a syntax error. */
const DUPLICATE_KEY_MESSAGE = 'YAML syntax: Map keys must be unique';

/** Where a scalar key repeats one earlier in the same map (as yaml's `uniqueKeys` judges: equal values). */
function duplicateKeyOffsets(document: Document.Parsed): number[] {
  const offsets: number[] = [];
  visit(document, {
    Map(_key, map) {
      const seen = new Set<unknown>();
      for (const pair of map.items) {
        if (!isScalar(pair.key)) continue;
        if (seen.has(pair.key.value)) offsets.push(pair.key.range?.[0] ?? 0);
        else seen.add(pair.key.value);
      }
    },
  });
  return offsets;
}

function syntaxMessage(message: string): string {
  const first = message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
  return `YAML syntax: ${first}`;
}
