/**
 * Writes belfry.schema.json (the JSON Schema of the YAML definitions, generated from the zod schema) at
 * the package root. Run with `npm run schema` after changing src/config/definition-schema.ts.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { definitionsSchemaText, SCHEMA_FILE_NAME } from '../src/config/schema-file.js';

const target = fileURLToPath(new URL(`../${SCHEMA_FILE_NAME}`, import.meta.url));
writeFileSync(target, definitionsSchemaText());
console.log(`wrote ${target}`);
