/**
 * The text of belfry.schema.json: what `belfry schema` prints and scripts/generate-schema.ts writes.
 * A test asserts that the committed file equals this, so the file can never drift from the zod schema.
 */
import { definitionsJsonSchema } from './definition-schema.js';

export const SCHEMA_FILE_NAME = 'belfry.schema.json';

export function definitionsSchemaText(): string {
  return `${JSON.stringify(definitionsJsonSchema(), null, 2)}\n`;
}
