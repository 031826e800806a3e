/**
 * `belfry validate FILE…`: checks definition files without touching a database and reports every error
 * as `file:line:column: message`. Exit code 1 when there is any error.
 */
import type { Command } from 'commander';
import { formatDefinitionError } from '../config/definition-error.js';
import { loadDefinitions } from '../config/definition-loader.js';
import type { ErrorCode } from '../errors/error-codes.js';

export interface ValidateCommandDeps {
  write?: (text: string) => void;
}

export function registerValidateCommand(program: Command, deps: ValidateCommandDeps = {}): void {
  const write = deps.write ?? ((text: string) => void process.stdout.write(text));
  program
    .command('validate')
    .description(
      'check YAML definition files (calendars, jobs, triggers) and report every error with its line',
    )
    .argument('<files...>', 'YAML definition files')
    .option('--json', 'print {ok, errors: [{file, line, column, message}]}')
    .action(async function (this: Command, files: string[], options: { json?: boolean }) {
      const result = await loadDefinitions(files);
      if (options.json) {
        write(`${JSON.stringify(result.ok ? { ok: true, errors: [] } : result, null, 2)}\n`);
        if (!result.ok)
          this.error('', { exitCode: 1, code: 'BELFRY_ERR_INVALID_DEFINITIONS' satisfies ErrorCode });
        return;
      }
      if (!result.ok) {
        const count = result.errors.length;
        this.error(
          `${result.errors.map(formatDefinitionError).join('\n')}\n${count} error${count === 1 ? '' : 's'}`,
          {
            exitCode: 1,
            code: 'BELFRY_ERR_INVALID_DEFINITIONS' satisfies ErrorCode,
          },
        );
      }
      const { calendars, jobs, triggers } = result.ok
        ? result.definitions
        : { calendars: [], jobs: [], triggers: [] };
      write(
        `ok: ${files.join(', ')}: ${plural(calendars.length, 'calendar')}, ${plural(jobs.length, 'job')}, ${plural(triggers.length, 'trigger')}\n`,
      );
    });
}

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}
