/**
 * The demo table the change-stream example reads and writes: `belfry_demo.changes` (the stream, an
 * append-only table with an increasing id) and `belfry_demo.deliveries` (where the reader delivers,
 * fenced by the shard's epoch). Example code: it talks to PostgreSQL with `pg` directly, as your own
 * services would.
 */
import pg from 'pg';

export const DEMO_SCHEMA = 'belfry_demo';

/** Opens a connection from DATABASE_URL (set by `belfry dev` and `belfry start`) and creates the tables. */
export async function connectDemo(signal: AbortSignal): Promise<pg.Client> {
  // Your own service reads its own settings; Belfry's lint rule is for Belfry's code.
  // eslint-disable-next-line no-restricted-properties
  const connectionString = process.env.DATABASE_URL;
  const client = new pg.Client({ connectionString, application_name: 'belfry-demo' });
  client.on('error', () => {}); // a lost connection surfaces in the next query; run() then throws and restarts
  await client.connect();
  signal.addEventListener('abort', () => void client.end().catch(() => {}), { once: true });
  // Two replicas may get here at once (the producer and a reader): a concurrent CREATE is retried once.
  for (let attempt = 0; ; attempt += 1) {
    try {
      await client.query(`
        CREATE SCHEMA IF NOT EXISTS ${DEMO_SCHEMA};
        CREATE TABLE IF NOT EXISTS ${DEMO_SCHEMA}.changes (
          id bigserial PRIMARY KEY, payload text NOT NULL, at timestamptz NOT NULL DEFAULT now());
        CREATE TABLE IF NOT EXISTS ${DEMO_SCHEMA}.deliveries (
          change_id bigint PRIMARY KEY, shard int NOT NULL, epoch bigint NOT NULL, at timestamptz NOT NULL DEFAULT now());
        CREATE TABLE IF NOT EXISTS ${DEMO_SCHEMA}.fences (shard int PRIMARY KEY, epoch bigint NOT NULL);`);
      return client;
    } catch (error) {
      if (attempt > 0) throw error;
    }
  }
}

/** Resolves after `ms`, or at once when `signal` aborts. */
export function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
