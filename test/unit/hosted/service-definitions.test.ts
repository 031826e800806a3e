/** YAML `services:`: read and checked with the definitions (positions), registered like job classes. */
import { describe, expect, it } from 'vitest';
import { loadDefinitions } from '../../../src/config/definition-loader.js';
import { registerDefinitionServices } from '../../../src/config/service-definitions.js';
import type { ServiceOptions } from '../../../src/index.js';

const EXAMPLE = new URL('../../../examples/belfry.yaml', import.meta.url).pathname;

describe('YAML services', () => {
  it('reads the example services with their options, and registers their classes', async () => {
    const loaded = await loadDefinitions([EXAMPLE]);
    expect(loaded.ok).toBe(true);
    if (!loaded.ok) return;
    const services = loaded.definitions.services ?? [];
    expect(services.map((s) => [s.name, s.exportName, s.options])).toEqual([
      ['change-producer', 'default', {}],
      ['change-reader', 'default', { shards: 2, stopTimeoutMs: 5_000 }],
    ]);
    const registered: [string, ServiceOptions][] = [];
    await registerDefinitionServices(services, {
      registerService: (name: string, _class: unknown, options: ServiceOptions = {}) => {
        registered.push([name, options]);
        return undefined as never;
      },
    } as never);
    expect(registered.map(([name]) => name)).toEqual(['change-producer', 'change-reader']);
  });

  it('reports bad services with their positions', async () => {
    const yaml = [
      'services:',
      '  cdc:',
      '    module: ./missing.ts',
      '  bad:',
      '    module: ./x.ts',
      '    shards: 0',
      '    restart: { window: soon }',
      '  worse:',
      '    modul: ./x.ts',
    ].join('\n');
    const loaded = await loadDefinitions(['/tmp/services.yaml'], { readFile: async () => yaml });
    expect(loaded.ok).toBe(false);
    if (loaded.ok) return;
    const messages = loaded.errors.map((e) => `${e.line}: ${e.message}`).join('\n');
    expect(messages).toMatch(/3: services\.cdc\.module: module file \.\/missing\.ts does not exist/);
    expect(messages).toMatch(/6: services\.bad\.shards/);
    expect(messages).toMatch(/7: services\.bad\.restart\.window/);
    expect(messages).toMatch(/9: .*modul.*did you mean "module"/);
  });

  it('refuses a module export without run(ctx)', async () => {
    await expect(
      registerDefinitionServices(
        [
          {
            name: 'x',
            module: './x.ts',
            modulePath: '/x.ts',
            exportName: 'default',
            options: {},
            at: { file: 'f.yaml', line: 2, column: 3 },
          },
        ],
        { registerService: () => undefined as never },
        { importModule: async () => ({ default: class {} }) },
      ),
    ).rejects.toThrow(/f\.yaml:2:3.*not a class with a run\(ctx\) method/s);
  });
});
