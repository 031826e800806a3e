/**
 * Advisory lock keys. Belfry uses the two-integer form `pg_advisory_lock(namespace, key)`: the namespace
 * is derived from the schema name, so two Belfry installations in one database never share a lock.
 * Key 0 is the migration lock; instance session locks use their `instances.lock_key` (always >= 1).
 */
export const MIGRATION_LOCK_KEY = 0;

export function lockNamespace(schema: string): number {
  // FNV-1a, folded to a positive int4 so it reads the same in pg_locks.classid (an oid).
  let hash = 0x811c9dc5;
  for (const char of `belfry:${schema}`) {
    hash ^= char.codePointAt(0)!;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash & 0x7fffffff;
}
