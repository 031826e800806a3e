/**
 * The difference between definitions and what the database holds: pure, no I/O.
 *
 * Only rows whose `source` is `yaml` belong to the definitions: jobs registered in code and one-off
 * triggers from the API are never reported as leftovers nor pruned for their own sake (prune-impact.ts
 * lists, and guards, the ones a pruned job would take with it). A row with another source that has
 * the name of a definition is taken over (its source changes to `yaml`).
 *
 * A trigger's *schedule* is its kind, spec, calendar, start, end and count, and the content of the
 * calendars it uses (through their base chain): a change to any of them recomputes the next fire; any
 * other change (priority, data, group, misfire policy…) keeps it.
 */
import { formatDuration } from '../time/duration.js';
import type { ScheduleSpec } from '../time/schedule.js';
import type { CalendarSpec } from '../time/calendar.js';
import type { JobRecord, StoredJob, StoredTrigger, TriggerRecord } from '../store/definition-store.js';
import { YAML_SOURCE, type Definitions, type TriggerDefinition } from './definitions.js';

export interface StoredDefinitions {
  jobs: StoredJob[];
  triggers: StoredTrigger[];
  calendars: { name: string; spec: unknown; source: string }[];
}

export type PlanAction = 'add' | 'change' | 'remove' | 'leftover' | 'unchanged';
export type PlanEntryType = 'calendar' | 'job' | 'trigger';

export interface FieldChange {
  field: string;
  from: string;
  to: string;
}

export interface PlanEntry {
  type: PlanEntryType;
  name: string;
  action: PlanAction;
  /** What it is, briefly (the schedule of a trigger, the module of a job). */
  summary: string;
  changes: FieldChange[];
  /** Triggers: the schedule changed (or is new), so the next fire is computed afresh. */
  reschedule?: boolean;
  /** Triggers: the paused state to set (true pauses, false resumes). */
  setPaused?: boolean;
  /** Triggers added or rescheduled by an apply: the next fire it computed (ISO), or null when none. */
  nextFireAt?: string | null;
  /** Triggers removed: where the row came from (`yaml`, `api`, `code`) and its state. */
  source?: string;
  state?: StoredTrigger['state'];
  /** Triggers removed only because the job they fire is pruned (the foreign key cascades). */
  cascadeFrom?: { type: 'job'; name: string };
  /** Jobs removed: pending and running executions, which are kept (history) but lose their job. */
  unfinishedExecutions?: number;
}

export function diffDefinitions(
  stored: StoredDefinitions,
  definitions: Definitions,
  options: { prune: boolean },
): PlanEntry[] {
  const entries: PlanEntry[] = [];
  const leftover = (type: PlanEntryType, name: string, summary: string): PlanEntry => ({
    type,
    name,
    action: options.prune ? 'remove' : 'leftover',
    summary,
    changes: [],
  });

  // Calendars
  const storedCalendars = new Map(stored.calendars.map((calendar) => [calendar.name, calendar]));
  const changedCalendars = new Set<string>();
  for (const calendar of definitions.calendars) {
    const current = storedCalendars.get(calendar.name);
    const summary = calendarSummary(calendar.spec);
    if (!current) {
      entries.push({ type: 'calendar', name: calendar.name, action: 'add', summary, changes: [] });
      changedCalendars.add(calendar.name);
      continue;
    }
    const changes: FieldChange[] = [];
    if (canonical(current.spec) !== canonical(calendar.spec))
      changes.push({ field: 'spec', from: calendarSummary(current.spec as CalendarSpec), to: summary });
    sourceChange(changes, current.source);
    if (changes.some((change) => change.field === 'spec')) changedCalendars.add(calendar.name);
    entries.push(comparedEntry('calendar', calendar.name, summary, changes));
  }
  for (const calendar of droppedFromYaml(stored.calendars, definitions.calendars)) {
    entries.push(leftover('calendar', calendar.name, calendarSummary(calendar.spec as CalendarSpec)));
  }

  // Jobs
  const storedJobs = new Map(stored.jobs.map((job) => [job.name, job]));
  for (const job of definitions.jobs) {
    const current = storedJobs.get(job.name);
    const summary = job.record.module
      ? `module ${job.record.module}${job.record.exportName !== 'default' ? ` export ${job.record.exportName}` : ''}`
      : builtinSummary(job.record.data);
    if (!current) {
      entries.push({ type: 'job', name: job.name, action: 'add', summary, changes: [] });
      continue;
    }
    const changes: FieldChange[] = [];
    compareFields(changes, current, job.record, JOB_FIELDS);
    sourceChange(changes, current.source);
    entries.push(comparedEntry('job', job.name, summary, changes));
  }
  for (const job of droppedFromYaml(stored.jobs, definitions.jobs)) {
    entries.push(leftover('job', job.name, job.module ? `module ${job.module}` : builtinSummary(job.data)));
  }

  // Triggers
  const calendarSpecs = new Map<string, CalendarSpec>([
    ...stored.calendars.map((calendar) => [calendar.name, calendar.spec as CalendarSpec] as const),
    ...definitions.calendars.map((calendar) => [calendar.name, calendar.spec] as const),
  ]);
  const storedTriggers = new Map(stored.triggers.map((trigger) => [trigger.name, trigger]));
  for (const trigger of definitions.triggers) {
    entries.push(triggerEntry(trigger, storedTriggers.get(trigger.name), changedCalendars, calendarSpecs));
  }
  for (const trigger of droppedFromYaml(stored.triggers, definitions.triggers)) {
    entries.push({
      ...leftover('trigger', trigger.name, scheduleSummary(trigger.spec as ScheduleSpec)),
      source: trigger.source,
      state: trigger.state,
    });
  }
  return entries;
}

/** A definition that is already stored: `change` when any field differs, else `unchanged`. */
function comparedEntry(
  type: PlanEntryType,
  name: string,
  summary: string,
  changes: FieldChange[],
): PlanEntry {
  return { type, name, action: changes.length ? 'change' : 'unchanged', summary, changes };
}

/**
 * Stored rows that a YAML file defined and no longer does (left over, or removed with --prune). Rows
 * made through the API or code are not the files' to remove.
 */
function droppedFromYaml<Row extends { name: string; source: string }>(
  stored: readonly Row[],
  defined: readonly { name: string }[],
): Row[] {
  const names = new Set(defined.map((definition) => definition.name));
  return stored.filter((row) => row.source === YAML_SOURCE && !names.has(row.name));
}

function triggerEntry(
  definition: TriggerDefinition,
  current: StoredTrigger | undefined,
  changedCalendars: ReadonlySet<string>,
  calendarSpecs: ReadonlyMap<string, CalendarSpec>,
): PlanEntry {
  const want = definition.record;
  const summary = scheduleSummary(want.spec as ScheduleSpec);
  if (!current) {
    return {
      type: 'trigger',
      name: definition.name,
      action: 'add',
      summary,
      changes: [],
      reschedule: true,
      ...(definition.paused ? { setPaused: true } : {}),
    };
  }
  const changes: FieldChange[] = [];
  // Schedule fields first: they decide whether the next fire is recomputed.
  if (current.kind !== want.kind || canonical(current.spec) !== canonical(want.spec)) {
    changes.push({ field: 'schedule', from: scheduleSummary(current.spec as ScheduleSpec), to: summary });
  }
  compareFields(changes, current, want, TRIGGER_SCHEDULE_FIELDS);
  if (current.calendarName !== want.calendarName && !changes.some((change) => change.field === 'schedule')) {
    compare(changes, 'calendar', current.calendarName, want.calendarName, show);
  }
  const changedCalendar = calendarChain(want.calendarName, calendarSpecs).find((name) =>
    changedCalendars.has(name),
  );
  if (changedCalendar !== undefined && changes.length === 0) {
    changes.push({
      field: 'calendar',
      from: `${changedCalendar} (before)`,
      to: `${changedCalendar} (changed)`,
    });
  }
  const reschedule = changes.length > 0;
  compareFields(changes, current, want, TRIGGER_FIELDS);
  sourceChange(changes, current.source);
  let setPaused: boolean | undefined;
  if (definition.paused === true && current.state === 'waiting') setPaused = true;
  if (definition.paused === false && current.state === 'paused') setPaused = false;
  if (setPaused !== undefined)
    changes.push({ field: 'paused', from: String(!setPaused), to: String(setPaused) });
  return {
    ...comparedEntry('trigger', definition.name, summary, changes),
    ...(reschedule ? { reschedule } : {}),
    ...(setPaused !== undefined ? { setPaused } : {}),
  };
}

/** The calendar and its base chain (a loop is cut; validation reports it). */
function calendarChain(name: string | null, specs: ReadonlyMap<string, CalendarSpec>): string[] {
  const chain: string[] = [];
  for (
    let current = name ?? undefined;
    current !== undefined && !chain.includes(current);
    current = specs.get(current)?.base
  )
    chain.push(current);
  return chain;
}

function compare<T>(
  changes: FieldChange[],
  field: string,
  from: T,
  to: T,
  format: (value: NonNullable<T>) => string,
): void {
  const text = (value: T) =>
    value === null || value === undefined ? 'none' : format(value as NonNullable<T>);
  // Most fields are strings, numbers or null: compared as they are, without canonical's JSON (which
  // was most of re-applying 100,000 unchanged triggers, docs/performance.md); null and undefined match.
  const same =
    from instanceof Date || to instanceof Date
      ? (from as Date | null)?.getTime() === (to as Date | null)?.getTime()
      : typeof from !== 'object' || typeof to !== 'object' || from === null || to === null
        ? (from ?? null) === (to ?? null)
        : canonical(from) === canonical(to);
  if (!same) changes.push({ field, from: text(from), to: text(to) });
}

/** Compares the fields, in order; a field reads in the plan by its LABELS name, as FORMATS shows it. */
function compareFields<Row>(
  changes: FieldChange[],
  current: Row,
  want: Row,
  keys: readonly (keyof Row & keyof DefinitionFields)[],
): void {
  for (const key of keys) {
    const format = (FORMATS[key] ?? show) as (value: unknown) => string;
    compare(changes, LABELS[key] ?? key, current[key], want[key], format);
  }
}

function sourceChange(changes: FieldChange[], source: string): void {
  if (source !== YAML_SOURCE) changes.push({ field: 'source', from: source, to: YAML_SOURCE });
}

const show = (value: unknown) => String(value);
const json = (value: unknown) => truncate(canonical(value), 80);
const duration = (value: number) => formatDuration(value);
const instant = (value: Date) => value.toISOString();

/** Every field a job or trigger definition carries. */
type DefinitionFields = JobRecord & TriggerRecord;

/** How a plan names a field whose key is not its name. */
const LABELS: { readonly [K in keyof DefinitionFields]?: string } = {
  exportName: 'export',
  timeoutMs: 'timeout',
  maxAttempts: 'attempts',
  startAt: 'start',
  endAt: 'end',
  maxFires: 'count',
  misfirePolicy: 'misfire',
  misfireThresholdMs: 'misfire threshold',
};

/** How a plan shows a field's value, where not as text. */
const FORMATS: {
  readonly [K in keyof DefinitionFields]?: (value: NonNullable<DefinitionFields[K]>) => string;
} = {
  data: json,
  timeoutMs: duration,
  misfireThresholdMs: duration,
  startAt: instant,
  endAt: instant,
  backoff: (backoff) =>
    `${formatDuration(backoff.initialMs)}..${formatDuration(backoff.maxMs)} ×${backoff.factor}`,
};

/** A job's compared fields, in the order a plan lists their changes. */
const JOB_FIELDS: readonly (keyof JobRecord)[] = [
  'module',
  'exportName',
  'description',
  'data',
  'concurrency',
  'timeoutMs',
  'maxAttempts',
  'backoff',
  'recover',
];

/** Besides kind, spec and calendar, the trigger fields of its schedule: a change recomputes the next fire. */
const TRIGGER_SCHEDULE_FIELDS: readonly (keyof TriggerRecord)[] = ['startAt', 'endAt', 'maxFires'];

/** The trigger fields whose change keeps the next fire. */
const TRIGGER_FIELDS: readonly (keyof TriggerRecord)[] = [
  'job',
  'group',
  'priority',
  'data',
  'misfirePolicy',
  'misfireThresholdMs',
];

function truncate(text: string, length: number): string {
  return text.length > length ? `${text.slice(0, length - 1)}…` : text;
}

/** JSON with sorted keys: jsonb does not keep key order, so this is how stored and wanted values compare. */
export function canonical(value: unknown): string {
  return JSON.stringify(value ?? null, (_key, item: unknown) =>
    item && typeof item === 'object' && !Array.isArray(item)
      ? Object.fromEntries(Object.entries(item).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : item,
  );
}

export function scheduleSummary(spec: ScheduleSpec): string {
  const zone = 'timezone' in spec && spec.timezone !== 'UTC' ? ` ${spec.timezone}` : '';
  const calendar = 'calendar' in spec && spec.calendar ? `, calendar ${spec.calendar}` : '';
  switch (spec.kind) {
    case 'cron':
    case 'quartz':
      return `${spec.kind} ${spec.expression}${zone}${calendar}`;
    case 'interval':
      return `every ${formatDuration(spec.everyMs)}${spec.anchor ? ` from ${spec.anchor}` : ''}${calendar}`;
    case 'once':
      return `at ${spec.at}`;
    case 'calendar-interval':
      return `every ${spec.every} ${spec.unit}${spec.every === 1 ? '' : 's'} from ${spec.start}${zone}${calendar}`;
    case 'daily-interval':
      return `every ${formatDuration(spec.everyMs)} ${spec.from}-${spec.to}${spec.days ? ` ${spec.days.join(',')}` : ''}${zone}${calendar}`;
    case 'business-day':
      return `business day ${spec.day} at ${spec.time}${zone}${calendar}`;
    case 'after':
      return spec.all
        ? `after all of ${spec.all.join(', ')}${spec.withinMs ? ` within ${formatDuration(spec.withinMs)}` : ''}`
        : `after ${spec.job} ${(spec.on ?? ['succeeded']).join('|')}`;
    default:
      return canonical(spec);
  }
}

function calendarSummary(spec: CalendarSpec): string {
  switch (spec.kind) {
    case 'holiday':
      return `holiday, ${spec.dates.length} date${spec.dates.length === 1 ? '' : 's'}${spec.base ? `, base ${spec.base}` : ''}`;
    case 'annual':
      return `annual, ${spec.days.length} day${spec.days.length === 1 ? '' : 's'}${spec.base ? `, base ${spec.base}` : ''}`;
    default:
      return `${spec.kind}${spec.base ? `, base ${spec.base}` : ''}`;
  }
}

function builtinSummary(data: Record<string, unknown>): string {
  const builtin = data.$builtin as
    { type?: string; url?: unknown; method?: string; command?: string } | undefined;
  if (!builtin) return 'no module';
  if (builtin.type === 'http')
    return `http ${builtin.method ?? 'GET'} ${typeof builtin.url === 'string' ? builtin.url : canonical(builtin.url)}`;
  if (builtin.type === 'command') return `command ${builtin.command}`;
  return String(builtin.type);
}
