/**
 * Where a trigger was defined: the file and line of its key in the YAML files this replica was started
 * with (BELFRY_CONFIG / --config), for the dashboard's trigger page. The database keeps only that a
 * trigger came from YAML, so the replica answers from its own files; each file is parsed again only
 * when its modification time changes. A trigger defined in a file this replica was not given has no
 * answer (null): replicas started from other files say where in theirs.
 */
import { readFile, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { SourcePosition } from '../config/definition-error.js';
import { YamlSource } from '../config/yaml-source.js';

export class DefinitionSources {
  readonly #files: { given: string; path: string }[];
  readonly #parsed = new Map<string, { mtimeMs: number; source: YamlSource | null }>();

  constructor(files: readonly string[]) {
    this.#files = files.map((given) => ({ given, path: resolve(given) }));
  }

  /** The position of `triggers.<name>` in the first file that defines it (the file as given), or null. */
  async triggerPosition(name: string): Promise<SourcePosition | null> {
    for (const { given, path } of this.#files) {
      const source = await this.#source(path);
      if (source?.has(['triggers', name]))
        return { ...source.keyPositionOf(['triggers'], name), file: given };
    }
    return null;
  }

  async #source(file: string): Promise<YamlSource | null> {
    let mtimeMs: number;
    try {
      mtimeMs = (await stat(file)).mtimeMs;
    } catch {
      return null;
    }
    const cached = this.#parsed.get(file);
    if (cached && cached.mtimeMs === mtimeMs) return cached.source;
    let source: YamlSource | null = null;
    try {
      const parsed = YamlSource.parse(file, await readFile(file, 'utf8'));
      source = parsed.errors.length === 0 ? parsed.source : null;
    } catch {
      source = null;
    }
    this.#parsed.set(file, { mtimeMs, source });
    return source;
  }
}
