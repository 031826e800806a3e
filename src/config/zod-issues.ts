/**
 * Turns zod issues into positioned errors: each issue's path leads back to the YAML node it is about.
 */
import type { z } from 'zod';
import type { DefinitionError } from './definition-error.js';
import type { DataPath, YamlSource } from './yaml-source.js';

export function dottedPath(path: DataPath): string {
  return path.map((segment) => (typeof segment === 'number' ? `[${segment}]` : String(segment))).join('.').replace(/\.\[/g, '[');
}

export function issueErrors(source: YamlSource, base: DataPath, issues: readonly z.core.$ZodIssue[]): DefinitionError[] {
  const errors: DefinitionError[] = [];
  for (const issue of issues) {
    const path = [...base, ...issue.path];
    const where = dottedPath(path);
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        errors.push({ ...source.keyPositionOf(path, key), message: `${where ? `${where}: ` : ''}unknown key "${key}"` });
      }
      continue;
    }
    if (issue.code === 'invalid_union' && 'discriminator' in issue && issue.discriminator) {
      const options = ((issue as { options?: unknown[] }).options ?? []).filter((option) => option !== null && option !== undefined);
      const value = source.has(path) ? '' : ' is missing;';
      errors.push({
        ...source.positionOf(path),
        message: `${where}${value} must be one of ${options.map((option) => `"${String(option)}"`).join(', ')}`,
      });
      continue;
    }
    if (issue.code === 'invalid_type' && !source.has(path) && path.length > 0) {
      const key = String(path[path.length - 1]);
      errors.push({ ...source.positionOf(path), message: `${dottedPath(path.slice(0, -1))}: "${key}" is required` });
      continue;
    }
    errors.push({ ...source.positionOf(path), message: `${where}: ${plainMessage(issue.message)}` });
  }
  return errors;
}

function plainMessage(message: string): string {
  return message.replace(/^Invalid input: /, '');
}
