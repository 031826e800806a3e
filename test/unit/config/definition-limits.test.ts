/**
 * Definition files that are hostile or careless: a literal token in a URL, a YAML alias bomb, a file
 * over the size limit. Each is a positioned error through the loader's normal path, never a throw.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { loadDefinitions } from '../../../src/config/definition-loader.js';
import { literalUrlSecret } from '../../../src/config/definition-schema.js';
import { MAX_DEFINITION_FILE_BYTES } from '../../../src/config/yaml-source.js';
import { definitionDir, yaml, type DefinitionDir } from './definition-files.js';

let dir: DefinitionDir | undefined;
afterEach(() => dir?.remove());

async function errorsOf(text: string) {
  dir = definitionDir();
  const file = dir.write('belfry.yaml', text);
  const result = await loadDefinitions([file]);
  expect(result.ok).toBe(false);
  return (result as { errors: { file: string; line: number; column: number; message: string }[] }).errors;
}

describe('secrets in URLs', () => {
  it('rejects a literal URL with credentials or a token in its query, with file and line', async () => {
    const errors = await errorsOf(yaml`
      jobs:
        ping:
          type: http
          url: https://hooks.example.com/ping?api_key=abc123
        backup:
          type: http
          url: https://admin:hunter2@backup.example.com/run
        fine:
          type: http
          url: { env: PING_URL }
        plain:
          type: http
          url: https://example.com/status?verbose=1
    `);
    expect(errors.map(({ line, message }) => ({ line, message }))).toEqual([
      {
        line: 4,
        message: expect.stringMatching(
          /^jobs\.ping\.url: url query parameter "api_key" looks like a secret; give the whole URL as \{ env: NAME \}/,
        ),
      },
      { line: 7, message: expect.stringMatching(/^jobs\.backup\.url: url carries credentials/) },
    ]);
    expect(errors[0]!.file).toMatch(/belfry\.yaml$/);
  });

  it('knows the usual names', () => {
    for (const name of ['token', 'access_token', 'sig', 'key', 'password', 'client_secret'])
      expect(literalUrlSecret(`https://x.example/?${name}=v`), name).toBeDefined();
    expect(literalUrlSecret('https://x.example/?page=2&q=token')).toBeUndefined();
  });
});

describe('resource limits', () => {
  it('reports a YAML alias bomb at the alias, instead of expanding it', async () => {
    const levels = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (let i = 1; i < 9; i += 1) {
      const previous = String.fromCharCode(96 + i);
      const name = String.fromCharCode(97 + i);
      levels.push(`${name}: &${name} [${Array(9).fill(`*${previous}`).join(',')}]`);
    }
    const errors = await errorsOf(`x:\n${levels.map((line) => `  ${line}`).join('\n')}\n`);
    expect(errors).toEqual([
      {
        file: expect.stringMatching(/belfry\.yaml$/),
        line: 3,
        column: expect.any(Number),
        message: expect.stringMatching(/^YAML: .*alias.* \(at most 100 alias expansions\)$/i),
      },
    ]);
  });

  it('refuses a file over the size limit before parsing it', async () => {
    const errors = await errorsOf(`# ${'x'.repeat(MAX_DEFINITION_FILE_BYTES)}\njobs: {}\n`);
    expect(errors).toEqual([
      {
        file: expect.stringMatching(/belfry\.yaml$/),
        line: 1,
        column: 1,
        message: 'the file is 1025 KiB, over the limit of 1024 KiB; split it into several files',
      },
    ]);
  });
});
