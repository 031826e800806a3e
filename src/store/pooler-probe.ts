/**
 * Does a URL reach PostgreSQL through a transaction pooler (PgBouncer in transaction or statement mode)?
 * Such a pooler hands a client's next transaction to whatever server connection is free, so nothing a
 * session holds survives: session advisory locks, LISTEN, session settings. No pooler says so in the
 * protocol, so the probe watches the server connections behind two client connections:
 *
 *   A: SELECT pg_backend_pid()                         → a1
 *   B: BEGIN; SELECT pg_backend_pid()                  → b   (B now holds a server connection)
 *   A: SELECT pg_backend_pid()                         → a2  (sent before B commits)
 *   B: COMMIT
 *
 * Directly, or through a session-mode pool, A keeps one backend (a1 = a2) and B has another (b ≠ a1).
 * Through a transaction pooler A gave its backend back after its first statement: B (LIFO) gets that
 * one (b = a1), or A's next statement gets another (a2 ≠ a1). Either shows the pooler.
 */
import type pg from 'pg';

const BACKEND_PID = 'SELECT pg_backend_pid() AS pid';

export async function isTransactionPooled(connect: () => Promise<pg.Client>): Promise<boolean> {
  const a = await connect();
  let b: pg.Client | undefined;
  try {
    b = await connect();
    const pid = async (client: pg.Client) => (await client.query<{ pid: number }>(BACKEND_PID)).rows[0]!.pid;
    const a1 = await pid(a);
    await b.query('BEGIN');
    const inB = await pid(b);
    const second = pid(a);
    // Committing before awaiting A: with a pool of one server connection, A waits for B's.
    await b.query('COMMIT');
    const a2 = await second;
    return a1 !== a2 || a1 === inB;
  } finally {
    await Promise.all([a.end().catch(() => {}), b?.end().catch(() => {})]);
  }
}
