/**
 * The trigger columns that both the definition listing (definition-store.ts) and the acquisition
 * (fire-store.ts) read, mapped once to their record names: a column added to the schedule is named in
 * one place for both readers.
 */
import type { Selectable } from 'kysely';
import type { TriggersTable } from './tables.js';

export type TriggerScheduleRow = Pick<
  Selectable<TriggersTable>,
  | 'id'
  | 'name'
  | 'group_name'
  | 'job_name'
  | 'kind'
  | 'spec'
  | 'calendar_name'
  | 'data'
  | 'next_fire_at'
  | 'previous_fire_at'
  | 'times_fired'
  | 'max_fires'
  | 'start_at'
  | 'end_at'
  | 'misfire_policy'
  | 'misfire_threshold_ms'
  | 'replan_at'
  | 'version'
>;

/** Counters come back from PostgreSQL's bigint as text; they are small enough for a number. */
export function triggerScheduleFromRow(row: TriggerScheduleRow) {
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
