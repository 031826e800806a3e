import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { definitionsFileSchema, triggerSchema } from '../../../src/config/definition-schema.js';
import { definitionsSchemaText } from '../../../src/config/schema-file.js';
import { registerSchemaCommand } from '../../../src/cli/schema-command.js';

describe('the definitions schema', () => {
  it('is committed as belfry.schema.json, exactly as generated (npm run schema)', () => {
    const committed = readFileSync(new URL('../../../belfry.schema.json', import.meta.url), 'utf8');
    expect(committed).toBe(definitionsSchemaText());
  });

  it('describes calendars, jobs and triggers for editors', () => {
    const schema = JSON.parse(definitionsSchemaText()) as {
      $schema: string;
      properties: Record<
        string,
        { additionalProperties: { properties?: Record<string, unknown>; oneOf?: unknown[] } }
      >;
      additionalProperties: boolean;
    };
    expect(schema.$schema).toBe('http://json-schema.org/draft-07/schema#');
    expect(schema.additionalProperties).toBe(false);
    expect(Object.keys(schema.properties)).toEqual(['calendars', 'jobs', 'triggers', 'services']);
    expect(schema.properties.jobs!.additionalProperties.oneOf).toHaveLength(3);
    expect(schema.properties.calendars!.additionalProperties.oneOf).toHaveLength(6);
    expect(Object.keys(schema.properties.triggers!.additionalProperties.properties!)).toEqual(
      expect.arrayContaining([
        'job',
        'cron',
        'quartz',
        'every',
        'at',
        'timezone',
        'calendar',
        'misfire',
        'paused',
        'count',
      ]),
    );
  });

  it('validates the example definitions and rejects unknown keys', () => {
    expect(
      definitionsFileSchema.safeParse({
        jobs: { a: { module: './a.ts' } },
        triggers: { t: { job: 'a', every: '1s' } },
      }).success,
    ).toBe(true);
    expect(triggerSchema.safeParse({ job: 'a', every: '1s', colour: 'red' }).success).toBe(false);
    expect(triggerSchema.safeParse({ job: 'a' }).success).toBe(false);
  });

  it('is what `belfry schema` prints', async () => {
    let out = '';
    const program = new Command().exitOverride();
    registerSchemaCommand(program, { write: (text) => (out += text) });
    await program.parseAsync(['node', 'belfry', 'schema']);
    expect(out).toBe(definitionsSchemaText());
  });
});
