/** `belfry schema`: prints the JSON Schema of the YAML definitions (generated from the zod schema). */
import type { Command } from 'commander';
import { definitionsSchemaText } from '../config/schema-file.js';

export function registerSchemaCommand(program: Command, deps: { write?: (text: string) => void } = {}): void {
  const write = deps.write ?? ((text: string) => void process.stdout.write(text));
  program
    .command('schema')
    .description('print the JSON Schema of the YAML definitions (for editors: yaml-language-server)')
    .action(() => write(definitionsSchemaText()));
}
