/**
 * Loads definition files: parse (YAML, with positions) → shape (zod, per item so one bad item does not
 * hide the others) → meaning (schedules, calendars, references, module files) → merged definitions.
 *
 * Every error is collected and returned with its file, line and column; nothing is thrown for bad
 * input. Names are global across files: a second definition of a name is an error at the second place.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { serviceItems, type ServiceYaml } from './service-definitions.js';
import type { z } from 'zod';
import type { CalendarSpec } from '../time/calendar.js';
import { createCalendarResolver } from '../time/calendar-resolver.js';
import { ScheduleError } from '../time/schedule-error.js';
import { sortDefinitionErrors, type DefinitionError, type SourcePosition } from './definition-error.js';
import {
  calendarSchema,
  commandJobSchema,
  DEFINITION_NAME,
  httpJobSchema,
  jobSchema,
  moduleJobSchema,
  triggerSchema,
  type JobInput,
  type TriggerInput,
} from './definition-schema.js';
import type { CalendarDefinition, Definitions, JobDefinition, TriggerDefinition } from './definitions.js';
import { buildJob } from './job-builder.js';
import { buildTrigger } from './trigger-builder.js';
import { findContinuationCycles, formatCycle } from './continuation-graph.js';
import type { AfterSpec } from '../time/after-spec.js';
import { closestName, dottedPath, issueErrors } from './zod-issues.js';
import { YamlSource, type DataPath } from './yaml-source.js';

export type LoadResult = { ok: true; definitions: Definitions } | { ok: false; errors: DefinitionError[] };

export interface LoadOptions {
  /** Jobs registered in code: triggers may fire them although no file defines them. */
  knownJobs?: readonly string[];
  /** Reads a file; default fs.readFile as UTF-8. */
  readFile?: (file: string) => Promise<string>;
}

const SECTIONS = ['calendars', 'jobs', 'triggers'] as const;
type Section = (typeof SECTIONS)[number];
const SINGULAR: Record<Section, string> = { calendars: 'calendar', jobs: 'job', triggers: 'trigger' };
const JOB_KEYS = [
  ...new Set(
    [moduleJobSchema, httpJobSchema, commandJobSchema].flatMap((schema) => Object.keys(schema.shape)),
  ),
];
const TRIGGER_KEYS = Object.keys(triggerSchema.shape);
const CALENDAR_KEYS = [
  'type',
  'dates',
  'days',
  'excludedDays',
  'from',
  'to',
  'invert',
  'expression',
  'dialect',
  'timezone',
  'base',
  'description',
];

interface Item {
  section: Section;
  name: string;
  value: unknown;
  source: YamlSource;
  dir: string;
  path: DataPath;
  at: SourcePosition;
}

export async function loadDefinitions(
  files: readonly string[],
  options: LoadOptions = {},
): Promise<LoadResult> {
  const errors: DefinitionError[] = [];
  const read = options.readFile ?? ((file: string) => readFile(file, 'utf8'));
  const items: Item[] = [];
  const services: ServiceYaml[] = [];
  const seen = new Map<string, SourcePosition>();

  for (const file of files) {
    let text: string;
    try {
      text = await read(file);
    } catch (error) {
      errors.push({
        file,
        line: 1,
        column: 1,
        message: `cannot read the file (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
      });
      continue;
    }
    const { source, errors: syntax } = YamlSource.parse(file, text);
    if (syntax.length > 0) {
      errors.push(...syntax);
      continue;
    }
    items.push(...fileItems(source, dirname(resolve(file)), errors, seen));
    services.push(...serviceItems(source, dirname(resolve(file)), errors));
  }

  const bySection = (section: Section) => items.filter((item) => item.section === section);
  const errorAt = (item: Item) => (path: DataPath, message: string) => {
    errors.push({ ...item.source.positionOf(path), message: `${dottedPath(path)}: ${message}` });
  };
  const shaped = <T>(item: Item, schema: z.ZodType<T>, knownKeys: readonly string[]): T | undefined => {
    const parsed = schema.safeParse(item.value ?? {});
    if (parsed.success) return parsed.data;
    errors.push(...issueErrors(item.source, item.path, parsed.error.issues, knownKeys));
    return undefined;
  };

  // Calendars first: triggers are compiled against them.
  const calendarInputs: { item: Item; spec: CalendarSpec }[] = [];
  const brokenCalendars = new Set<string>();
  for (const item of bySection('calendars')) {
    const input = shaped(item, calendarSchema, CALENDAR_KEYS);
    if (!input) {
      brokenCalendars.add(item.name);
      continue;
    }
    const { type, ...rest } = input as { type: string } & Record<string, unknown>;
    calendarInputs.push({ item, spec: { kind: type, ...rest } as CalendarSpec });
  }
  const resolver = createCalendarResolver(
    Object.fromEntries(calendarInputs.map(({ item, spec }) => [item.name, spec])),
  );
  const calendars: CalendarDefinition[] = [];
  for (const { item, spec } of calendarInputs) {
    try {
      resolver(item.name);
      calendars.push({ name: item.name, spec, at: item.at });
    } catch (error) {
      if (!(error instanceof ScheduleError)) throw error;
      brokenCalendars.add(item.name);
      const field =
        /base/.test(error.message) && spec.base !== undefined
          ? 'base'
          : /time zone/.test(error.message) && spec.timezone !== undefined
            ? 'timezone'
            : 'type';
      errorAt(item)([...item.path, field], error.message);
    }
  }

  const jobs: JobDefinition[] = [];
  for (const item of bySection('jobs')) {
    const input = shaped<JobInput>(item, jobSchema, JOB_KEYS);
    if (!input) {
      checkModuleExists(item, errors);
      continue;
    }
    const job = buildJob(input, {
      source: item.source,
      dir: item.dir,
      path: item.path,
      name: item.name,
      at: item.at,
      error: errorAt(item),
    });
    if (job) jobs.push(job);
  }

  const jobNames = new Set([...bySection('jobs').map((item) => item.name), ...(options.knownJobs ?? [])]);
  const triggers: TriggerDefinition[] = [];
  for (const item of bySection('triggers')) {
    const input = shaped<TriggerInput>(item, triggerSchema, TRIGGER_KEYS);
    if (!input) continue;
    const fail = errorAt(item);
    if (!jobNames.has(input.job)) {
      const known = [...jobNames].sort();
      const hint = closestName(input.job, known);
      const list = known.length ? ` (defined: ${known.join(', ')})` : ' (no jobs are defined)';
      fail([...item.path, 'job'], `unknown job "${input.job}"${hint ? `; did you mean "${hint}"?` : list}`);
      continue;
    }
    const trigger = buildTrigger(input, {
      path: item.path,
      name: item.name,
      at: item.at,
      calendars: resolver,
      brokenCalendars,
      error: fail,
    });
    if (trigger) triggers.push(trigger);
  }
  checkContinuations(bySection('triggers'), triggers, jobNames, errorAt);

  if (errors.length > 0) return { ok: false, errors: sortByFileOrder(errors, files) };
  return { ok: true, definitions: { files: [...files], calendars, jobs, triggers, services } };
}

/** Continuation triggers: their upstream jobs exist, and no chain of them loops (continuation-graph.ts). */
function checkContinuations(
  items: Item[],
  triggers: TriggerDefinition[],
  jobNames: ReadonlySet<string>,
  errorAt: (item: Item) => (path: DataPath, message: string) => void,
): void {
  const itemOf = new Map(items.map((item) => [item.name, item]));
  const edges = triggers.flatMap((trigger) =>
    trigger.record.kind === 'after'
      ? [{ trigger: trigger.name, job: trigger.record.job, spec: trigger.record.spec as AfterSpec }]
      : [],
  );
  for (const edge of edges) {
    const item = itemOf.get(edge.trigger)!;
    const upstreams = edge.spec.all ?? [edge.spec.job!];
    upstreams.forEach((job, index) => {
      if (!jobNames.has(job))
        errorAt(item)(
          [...item.path, 'after', ...(edge.spec.all ? ['all', index] : ['job'])],
          `unknown upstream job "${job}"`,
        );
    });
  }
  for (const cycle of findContinuationCycles(edges)) {
    const item = itemOf.get(cycle.trigger)!;
    errorAt(item)([...item.path, 'after'], formatCycle(cycle));
  }
}

/** A job that failed its shape check still gets its module path checked, so one run reports both. */
function checkModuleExists(item: Item, errors: DefinitionError[]): void {
  const module = (item.value as { module?: unknown } | null)?.module;
  if (typeof module !== 'string' || !/^\.{1,2}\//.test(module)) return;
  const modulePath = resolve(item.dir, module);
  if (!existsSync(modulePath)) {
    errors.push({
      ...item.source.positionOf([...item.path, 'module']),
      message: `${dottedPath([...item.path, 'module'])}: module file ${module} does not exist (looked for ${modulePath})`,
    });
  }
}

/** The named entries of one file's sections, after the checks on the file's top level and on names. */
function fileItems(
  source: YamlSource,
  dir: string,
  errors: DefinitionError[],
  seen: Map<string, SourcePosition>,
): Item[] {
  const data = source.data;
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    errors.push({
      ...source.positionOf([]),
      message: 'the file must be a map with calendars, jobs and triggers',
    });
    return [];
  }
  const items: Item[] = [];
  for (const [key, value] of Object.entries(data)) {
    if (key === 'services') continue; // read by serviceItems (service-definitions.ts)
    if (!(SECTIONS as readonly string[]).includes(key)) {
      errors.push({
        ...source.keyPositionOf([], key),
        message: `unknown key "${key}" (expected ${SECTIONS.join(', ')})`,
      });
      continue;
    }
    const section = key as Section;
    if (value === null || value === undefined) continue;
    if (typeof value !== 'object' || Array.isArray(value)) {
      errors.push({
        ...source.positionOf([section]),
        message: `${section} must be a map of ${SINGULAR[section]} names to definitions`,
      });
      continue;
    }
    for (const [name, entry] of Object.entries(value)) {
      const at = source.keyPositionOf([section], name);
      if (!DEFINITION_NAME.test(name)) {
        errors.push({
          ...at,
          message: `${SINGULAR[section]} name "${name}" may use letters, digits and _ . : - only (at most 200)`,
        });
        continue;
      }
      const id = `${section}:${name}`;
      const first = seen.get(id);
      if (first) {
        errors.push({
          ...at,
          message: `${SINGULAR[section]} "${name}" is already defined at ${first.file}:${first.line}:${first.column}`,
        });
        continue;
      }
      seen.set(id, at);
      items.push({ section, name, value: entry, source, dir, path: [section, name], at });
    }
  }
  return items;
}

function sortByFileOrder(errors: DefinitionError[], files: readonly string[]): DefinitionError[] {
  const order = new Map(files.map((file, index) => [file, index]));
  return sortDefinitionErrors(errors).sort(
    (a, b) => (order.get(a.file) ?? 0) - (order.get(b.file) ?? 0) || a.line - b.line || a.column - b.column,
  );
}
