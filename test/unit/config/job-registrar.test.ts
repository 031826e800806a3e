import { Command } from 'commander';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadDefinitions } from '../../../src/config/definition-loader.js';
import { DefinitionsInvalidError, formatDefinitionError } from '../../../src/config/definition-error.js';
import { registerDefinitionJobs } from '../../../src/config/job-registrar.js';
import { JobRegistry } from '../../../src/jobs/job-registry.js';
import { registerValidateCommand } from '../../../src/cli/validate-command.js';
import { definitionDir, yaml, type DefinitionDir } from './definition-files.js';

let files: DefinitionDir;
beforeEach(() => {
  files = definitionDir();
  files.write(
    'jobs/report.ts',
    'export default class Report { async execute() { return 1; } }\nexport class Other { async execute() {} }\nexport const notAClass = 42;\n',
  );
});
afterEach(() => files.remove());

async function load(text: string) {
  const result = await loadDefinitions([files.write('belfry.yaml', text)]);
  if (!result.ok) throw new Error(result.errors.map(formatDefinitionError).join('\n'));
  return result.definitions;
}

describe('registerDefinitionJobs', () => {
  it('imports module jobs relative to the YAML file and builds built-in jobs', async () => {
    const definitions = await load(yaml`
      jobs:
        report: { module: ./jobs/report.ts, timeout: 5s, retries: { attempts: 2 } }
        other: { module: ./jobs/report.ts, export: Other }
        ping: { type: http, url: "http://127.0.0.1:1/" }
    `);
    const registry = new JobRegistry();
    expect(await registerDefinitionJobs(definitions, registry)).toEqual(['report', 'other', 'ping']);
    expect(registry.names()).toEqual(['other', 'ping', 'report']);
    expect(registry.get('report')).toMatchObject({
      source: 'yaml',
      module: './jobs/report.ts',
      exportName: 'default',
      options: { timeoutMs: 5_000, maxAttempts: 2 },
    });
    expect(registry.get('other')!.jobClass.name).toBe('Other');
    expect(registry.get('ping')!.jobClass.name).toBe('HttpJob');
  });

  it('names the file and line of a missing export or a non-class, and registers nothing', async () => {
    const definitions = await load(yaml`
      jobs:
        a: { module: ./jobs/report.ts, export: Missing }
        b:
          module: ./jobs/report.ts
          export: notAClass
        c: { module: ./jobs/report.ts }
    `);
    const registry = new JobRegistry();
    const error = await registerDefinitionJobs(definitions, registry).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(DefinitionsInvalidError);
    expect(
      (error as DefinitionsInvalidError).errors.map((e) =>
        formatDefinitionError(e).slice(files.dir.length + 1),
      ),
    ).toEqual([
      'belfry.yaml:2:42: job "a": ./jobs/report.ts has no export "Missing" (it exports default, Other)',
      'belfry.yaml:5:13: job "b": export "notAClass" of ./jobs/report.ts is not a class with an execute(ctx) method',
    ]);
    expect(registry.names()).toEqual([]);
  });
});

describe('belfry validate', () => {
  async function run(...args: string[]): Promise<{ out: string; err: string; exitCode: number }> {
    let out = '';
    let err = '';
    const program = new Command()
      .exitOverride()
      .configureOutput({ writeErr: (text) => (err += text), writeOut: (text) => (out += text) });
    registerValidateCommand(program, { write: (text) => (out += text) });
    try {
      await program.parseAsync(['node', 'belfry', 'validate', ...args]);
      return { out, err, exitCode: 0 };
    } catch (error) {
      return { out, err, exitCode: (error as { exitCode: number }).exitCode };
    }
  }

  it('prints every error with its position and exits 1', async () => {
    const file = files.write(
      'bad.yaml',
      'jobs:\n  a: { module: ./nope.ts }\ntriggers:\n  t: { job: b, cron: "* * *" }\n',
    );
    const result = await run(file);
    expect(result.exitCode).toBe(1);
    expect(result.err).toContain(`${file}:2:16: jobs.a.module: module file ./nope.ts does not exist`);
    expect(result.err).toContain(`${file}:4:13: triggers.t.job: unknown job "b"`);
    expect(result.err).toContain('2 errors');
  });

  it('says ok and exits 0 for valid files; --json lists errors', async () => {
    const good = files.write('good.yaml', 'jobs:\n  a: { module: ./jobs/report.ts }\n');
    expect(await run(good)).toMatchObject({
      exitCode: 0,
      out: `ok: ${good}: 0 calendars, 1 job, 0 triggers\n`,
    });
    const bad = files.write('bad.yaml', 'jobs:\n  a: { modul: x }\n');
    const json = await run('--json', bad);
    expect(json.exitCode).toBe(1);
    expect(JSON.parse(json.out)).toMatchObject({
      ok: false,
      errors: [
        { file: bad, line: 2 },
        { file: bad, line: 2 },
      ],
    });
  });

  it('validates the shipped example and reports every mistake of examples/invalid.yaml', async () => {
    expect((await run('examples/belfry.yaml')).exitCode).toBe(0);
    const invalid = await run('examples/invalid.yaml');
    expect(invalid.exitCode).toBe(1);
    expect(invalid.err.match(/^examples\/invalid\.yaml:\d+:\d+: /gm)!.length).toBeGreaterThanOrEqual(8);
  });
});
