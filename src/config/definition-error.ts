/**
 * Errors in definition files, each with its place: `file:line:column: message` (1-based), so editors
 * and CI logs jump to it. Loading collects every error rather than stopping at the first.
 */
import { BelfryError } from '../errors/belfry-error.js';

export interface SourcePosition {
  file: string;
  /** 1-based. */
  line: number;
  /** 1-based. */
  column: number;
}

export interface DefinitionError extends SourcePosition {
  message: string;
}

export function formatDefinitionError(error: DefinitionError): string {
  return `${error.file}:${error.line}:${error.column}: ${error.message}`;
}

export function formatDefinitionErrors(errors: readonly DefinitionError[]): string {
  return errors.map(formatDefinitionError).join('\n');
}

/** Thrown where a list of definition errors must become an exception (registering jobs, applying). */
export class DefinitionsInvalidError extends BelfryError {
  constructor(readonly errors: readonly DefinitionError[]) {
    super(
      'BELFRY_ERR_INVALID_DEFINITIONS',
      `${errors.length} error${errors.length === 1 ? '' : 's'} in definitions:\n${formatDefinitionErrors(errors)}`,
    );
  }
}

export function sortDefinitionErrors(errors: DefinitionError[]): DefinitionError[] {
  return errors.sort((a, b) => (a.file === b.file ? a.line - b.line || a.column - b.column : 0));
}
