/**
 * YAML `services:` (docs/services.md): read and checked with the other definitions (so `belfry validate`
 * reports their errors with positions), and registered by `belfry start` before the replica starts. A
 * service's class is resolved as a module job's is: a module relative to the YAML file, and an export
 * (default "default") that must be a class with `run(ctx)`.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { HostedServiceClass, ServiceOptions } from '../index.js';
import type { Scheduler } from '../scheduler.js';
import { parseDuration } from '../time/duration.js';
import { DefinitionsInvalidError, type DefinitionError, type SourcePosition } from './definition-error.js';
import { DEFINITION_NAME, serviceSchema } from './definition-schema.js';
import type { YamlSource } from './yaml-source.js';
import { dottedPath, issueErrors } from './zod-issues.js';

export interface ServiceYaml {
  name: string;
  modulePath: string;
  module: string;
  exportName: string;
  options: ServiceOptions;
  at: SourcePosition;
}

const SERVICE_KEYS = Object.keys(serviceSchema.shape);

/** The services of one YAML file; errors go to `errors`, with positions. */
export function serviceItems(source: YamlSource, dir: string, errors: DefinitionError[]): ServiceYaml[] {
  const data = source.data as Record<string, unknown> | null;
  const section = data && typeof data === 'object' && !Array.isArray(data) ? data.services : undefined;
  if (section === undefined || section === null) return [];
  if (typeof section !== 'object' || Array.isArray(section)) {
    errors.push({
      ...source.positionOf(['services']),
      message: 'services must be a map of service names to definitions',
    });
    return [];
  }
  const services: ServiceYaml[] = [];
  for (const [name, value] of Object.entries(section as Record<string, unknown>)) {
    const path = ['services', name];
    if (!DEFINITION_NAME.test(name)) {
      errors.push({
        ...source.keyPositionOf(['services'], name),
        message: `service name "${name}" is invalid (letters, digits and _.:- only)`,
      });
      continue;
    }
    const parsed = serviceSchema.safeParse(value ?? {});
    if (!parsed.success) {
      errors.push(...issueErrors(source, path, parsed.error.issues, SERVICE_KEYS));
      continue;
    }
    const input = parsed.data;
    const modulePath = resolve(dir, input.module);
    if (!existsSync(modulePath)) {
      errors.push({
        ...source.positionOf([...path, 'module']),
        message: `${dottedPath([...path, 'module'])}: module file ${input.module} does not exist (looked for ${modulePath})`,
      });
      continue;
    }
    const ms = (value: string | number | undefined) =>
      value === undefined ? undefined : parseDuration(value);
    const restart = input.restart && {
      ...(input.restart.initial !== undefined && { initialMs: ms(input.restart.initial) }),
      ...(input.restart.max !== undefined && { maxMs: ms(input.restart.max) }),
      ...(input.restart.maxFailures !== undefined && { maxFailures: input.restart.maxFailures }),
      ...(input.restart.window !== undefined && { windowMs: ms(input.restart.window) }),
    };
    services.push({
      name,
      module: input.module,
      modulePath,
      exportName: input.export ?? 'default',
      at: source.positionOf(path),
      options: {
        ...(input.shards !== undefined && { shards: input.shards }),
        ...(restart && { restart }),
        ...(input.stopTimeout !== undefined && { stopTimeoutMs: ms(input.stopTimeout) }),
        ...(input.placement && { placement: { labels: input.placement.labels } }),
        ...(input.data && { data: input.data }),
      },
    });
  }
  return services;
}

/** Imports each service's module and registers its class; throws DefinitionsInvalidError listing failures. */
export async function registerDefinitionServices(
  services: readonly ServiceYaml[],
  scheduler: Pick<Scheduler, 'registerService'>,
  options: { importModule?: (url: string) => Promise<Record<string, unknown>> } = {},
): Promise<void> {
  const importModule =
    options.importModule ?? ((url: string) => import(url) as Promise<Record<string, unknown>>);
  const errors: DefinitionError[] = [];
  for (const service of services) {
    const fail = (message: string) =>
      errors.push({ ...service.at, message: `service "${service.name}": ${message}` });
    let module: Record<string, unknown>;
    try {
      module = await importModule(pathToFileURL(service.modulePath).href);
    } catch (error) {
      fail(`cannot import ${service.module}: ${(error as Error).message}`);
      continue;
    }
    const candidate = module[service.exportName];
    if (
      typeof candidate !== 'function' ||
      typeof (candidate as { prototype?: { run?: unknown } }).prototype?.run !== 'function'
    ) {
      fail(`export "${service.exportName}" of ${service.module} is not a class with a run(ctx) method`);
      continue;
    }
    try {
      scheduler.registerService(service.name, candidate as HostedServiceClass, service.options);
    } catch (error) {
      fail((error as Error).message);
    }
  }
  if (errors.length > 0) throw new DefinitionsInvalidError(errors);
}
