/**
 * Turns zod issues into positioned errors: each issue's path leads back to the YAML node it is about.
 */
import type { z } from 'zod';
import type { DefinitionError } from './definition-error.js';
import type { DataPath, YamlSource } from './yaml-source.js';

export function dottedPath(path: DataPath): string {
  return path
    .map((segment) => (typeof segment === 'number' ? `[${segment}]` : String(segment)))
    .join('.')
    .replace(/\.\[/g, '[');
}

/** `knownKeys` are the keys of the item's own map, for a "did you mean" on unknown keys. */
export function issueErrors(
  source: YamlSource,
  base: DataPath,
  issues: readonly z.core.$ZodIssue[],
  knownKeys: readonly string[] = [],
): DefinitionError[] {
  const errors: DefinitionError[] = [];
  for (const issue of issues) {
    const path = [...base, ...issue.path];
    const where = dottedPath(path);
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        const hint = issue.path.length === 0 ? closestName(key, knownKeys) : undefined;
        errors.push({
          ...source.keyPositionOf(path, key),
          message: `${where ? `${where}: ` : ''}unknown key "${key}"${hint ? ` (did you mean "${hint}"?)` : ''}`,
        });
      }
      continue;
    }
    if (issue.code === 'invalid_union' && 'discriminator' in issue && issue.discriminator) {
      const options = ((issue as { options?: unknown[] }).options ?? []).filter(
        (option) => option !== null && option !== undefined,
      );
      const value = source.has(path) ? '' : ' is missing;';
      errors.push({
        ...source.positionOf(path),
        message: `${where}${value} must be one of ${options.map((option) => `"${String(option)}"`).join(', ')}`,
      });
      continue;
    }
    if (issue.code === 'invalid_type' && !source.has(path) && path.length > 0) {
      const key = String(path[path.length - 1]);
      errors.push({
        ...source.positionOf(path),
        message: `${dottedPath(path.slice(0, -1))}: "${key}" is required`,
      });
      continue;
    }
    errors.push({ ...source.positionOf(path), message: `${where}: ${plainMessage(issue.message)}` });
  }
  return errors;
}

function plainMessage(message: string): string {
  return message.replace(/^Invalid input: /, '');
}

/** The closest of `candidates` to `word` when it is close enough to be a typo, for "did you mean". */
export function closestName(word: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const distance = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best !== undefined && bestDistance <= Math.max(1, Math.floor(word.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= b.length; j += 1) {
      current[j] = Math.min(
        previous[j]! + 1,
        current[j - 1]! + 1,
        previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = current;
  }
  return previous[b.length]!;
}
