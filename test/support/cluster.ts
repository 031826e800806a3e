/** Spawns replica processes for the cluster tests and reads their event lines. */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const REPLICA = fileURLToPath(new URL('./replica-process.ts', import.meta.url));

export interface ReplicaHandle {
  name: string;
  child: ChildProcess;
  events: { event: string; instance: string; [key: string]: unknown }[];
  waitFor(
    event: string,
    predicate?: (e: Record<string, unknown>) => boolean,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
  exited: Promise<number | null>;
}

export function spawnReplica(options: {
  name: string;
  databaseUrl: string;
  schema: string;
  timings?: Record<string, number>;
  concurrency?: number;
  command?: string[];
  env?: Record<string, string>;
}): ReplicaHandle {
  const command = options.command ?? [process.execPath, '--import', 'tsx', REPLICA];
  const child = spawn(command[0]!, command.slice(1), {
    env: {
      ...process.env,
      DATABASE_URL: options.databaseUrl,
      BELFRY_SCHEMA: options.schema,
      BELFRY_INSTANCE_NAME: options.name,
      REPLICA_TIMINGS: options.timings ? JSON.stringify(options.timings) : '',
      REPLICA_CONCURRENCY: String(options.concurrency ?? 50),
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const events: ReplicaHandle['events'] = [];
  const waiters: (() => void)[] = [];
  createInterface({ input: child.stdout! }).on('line', (line) => {
    try {
      events.push(JSON.parse(line));
      for (const wake of waiters.splice(0)) wake();
    } catch {
      // not an event line
    }
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    name: options.name,
    child,
    events,
    exited,
    waitFor(event, predicate = () => true, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`${options.name}: timed out waiting for ${event}`)),
          timeoutMs,
        );
        const check = () => {
          const found = events.find((e) => e.event === event && predicate(e));
          if (found) {
            clearTimeout(timer);
            resolve(found);
          } else waiters.push(check);
        };
        check();
      });
    },
  };
}

export async function stopReplicas(
  replicas: ReplicaHandle[],
  signal: NodeJS.Signals = 'SIGTERM',
): Promise<void> {
  for (const replica of replicas)
    if (replica.child.exitCode === null && replica.child.signalCode === null) replica.child.kill(signal);
  await Promise.all(replicas.map((replica) => replica.exited));
}
