/**
 * What every store function takes first: a Kysely handle (the pool, or a transaction) and the schema it
 * is bound to. Raw SQL needs the schema spelled out (Kysely's `withSchema` does not rewrite `sql`
 * templates), so it travels with the handle. Store functions never open their own transaction: callers
 * compose them with `inTransaction`.
 */
import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Database } from './tables.js';

export interface Executor {
  readonly db: Kysely<Database>;
  readonly schema: string;
}

export function inTransaction<T>(executor: Executor, work: (tx: Executor) => Promise<T>): Promise<T> {
  if (executor.db.isTransaction) return work(executor);
  return executor.db.transaction().execute((trx) => work({ db: trx, schema: executor.schema }));
}

/** A schema-qualified table reference for raw SQL. */
export function table(executor: Executor, name: keyof Database): RawBuilder<unknown> {
  return sql.table(`${executor.schema}.${name}`);
}

/** The NOTIFY channel on which replicas learn that triggers or pending executions changed. */
export function changeChannel(schema: string): string {
  return `belfry_${schema}`;
}

/** Sent inside the caller's transaction, so it is delivered only if the change commits. */
export async function notifyChange(executor: Executor, payload: string): Promise<void> {
  await sql`SELECT pg_notify(${changeChannel(executor.schema)}, ${payload})`.execute(executor.db);
}

/**
 * The database's time for a statement: `$now` when a store test passes a stub, else `belfry_now()`, the
 * transaction's `now()` (migration 0010; in a schema the testing kit created, plus its clock offset:
 * docs/decisions/0008-test-clock.md). Store SQL never names now() itself.
 */
export function dbNow(ex: Executor, now?: Date): RawBuilder<Date> {
  return now ? sql<Date>`${now}::timestamptz` : sql<Date>`${sql.id(ex.schema, 'belfry_now')}()`;
}

/** The moment the statement runs (`belfry_clock()`: clock_timestamp(), or the testing kit's clock). */
export function dbClock(ex: Executor): RawBuilder<Date> {
  return sql<Date>`${sql.id(ex.schema, 'belfry_clock')}()`;
}
