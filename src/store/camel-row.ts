/**
 * A row as the database names it (`created_at`) read under the names the code uses (`createdAt`): one
 * conversion, typed, instead of a hand-written field-by-field copy per query. A column whose value needs
 * more than a new name (a bigint to a number, an age rounded) is taken out first and converted by hand.
 */

/** `created_at` → `createdAt`. */
export type CamelCase<S extends string> = S extends `${infer Head}_${infer Tail}`
  ? `${Head}${Capitalize<CamelCase<Tail>>}`
  : S;

export type CamelRow<Row> = { [K in keyof Row as K extends string ? CamelCase<K> : K]: Row[K] };

export function camelRow<Row extends object>(row: Row): CamelRow<Row> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(row))
    out[key.replace(/_([a-z0-9])/g, (_match, letter: string) => letter.toUpperCase())] = value;
  return out as CamelRow<Row>;
}
