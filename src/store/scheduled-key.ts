/**
 * The partition key of the history (migrations/0011) as the engine carries it back to the database.
 *
 * fires and executions are partitioned by `scheduled_at`, so a statement that names a fire's scheduled
 * time next to an id touches one partition. The time comes back from JavaScript, though, with millisecond
 * precision, and a fire's stored time may have microseconds (a `fireNow` fire is scheduled at the
 * database's now()). So the time is matched as the millisecond that holds it: `[at, at + 1 ms)`, which
 * prunes as well as equality does (a week's bounds are whole milliseconds, so the range never straddles
 * two partitions) and never misses the row. The id decides which row; the range only picks the partition.
 */
import { sql, type RawBuilder } from 'kysely';

/** `column` lies in the millisecond `at` (a Date from JavaScript, or an expression holding one). */
export function inScheduledMs(
  column: RawBuilder<unknown>,
  at: Date | RawBuilder<unknown>,
): RawBuilder<boolean> {
  const start = at instanceof Date ? sql`${at}::timestamptz` : at;
  return sql<boolean>`(${column} >= ${start} AND ${column} < ${start} + interval '1 millisecond')`;
}
