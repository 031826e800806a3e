/**
 * A trigger's record types, and its schedule columns mapped once to their record names: the definition
 * listing (definition-store.ts), the acquisition (fire-store.ts) and the backfill (operation-store.ts)
 * read a trigger through them, so a column added to the schedule is named in one place for every reader.
 */
import type { Selectable } from 'kysely';
import type { TriggersTable } from './tables.js';

/** A trigger's definition, as reconcile and the operations write it. */
export interface TriggerRecord {
  name: string;
  group: string;
  job: string;
  kind: string;
  spec: unknown;
  calendarName: string | null;
  data: Record<string, unknown> | null;
  priority: number;
  startAt: Date | null;
  endAt: Date | null;
  maxFires: number | null;
  misfirePolicy: TriggersTable['misfire_policy'];
  misfireThresholdMs: number;
  source: string;
}

/** What a stored trigger's row says of its schedule and its progress along it. */
export interface TriggerSchedule extends Omit<TriggerRecord, 'priority' | 'source'> {
  id: string;
  /**
   * Null once no fire is left; for an acquired trigger, only when a schedule change revived one that had
   * none (`replanAt` set).
   */
  nextFireAt: Date | null;
  previousFireAt: Date | null;
  timesFired: number;
  /**
   * A schedule change the planner has not fully taken in yet (while it still walks the old schedule's
   * times, the next of them).
   */
  replanAt: Date | null;
  version: number;
}

/** The columns a trigger's schedule is read from (triggerScheduleFromRow). */
export const TRIGGER_SCHEDULE_COLUMNS = [
  'id',
  'name',
  'group_name',
  'job_name',
  'kind',
  'spec',
  'calendar_name',
  'data',
  'next_fire_at',
  'previous_fire_at',
  'times_fired',
  'max_fires',
  'start_at',
  'end_at',
  'misfire_policy',
  'misfire_threshold_ms',
  'replan_at',
  'version',
] as const satisfies readonly (keyof TriggersTable)[];

export type TriggerScheduleRow = Pick<Selectable<TriggersTable>, (typeof TRIGGER_SCHEDULE_COLUMNS)[number]>;

/** Counters come back from PostgreSQL's bigint as text; they are small enough for a number. */
export function triggerScheduleFromRow(row: TriggerScheduleRow): TriggerSchedule {
  return {
    id: row.id,
    name: row.name,
    group: row.group_name,
    job: row.job_name,
    kind: row.kind,
    spec: row.spec,
    calendarName: row.calendar_name,
    data: row.data,
    nextFireAt: row.next_fire_at,
    previousFireAt: row.previous_fire_at,
    timesFired: Number(row.times_fired),
    maxFires: row.max_fires === null ? null : Number(row.max_fires),
    startAt: row.start_at,
    endAt: row.end_at,
    misfirePolicy: row.misfire_policy,
    misfireThresholdMs: row.misfire_threshold_ms,
    replanAt: row.replan_at,
    version: row.version,
  };
}
