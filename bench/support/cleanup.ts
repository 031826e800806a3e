/**
 * Process-wide cleanup for the bench entry points: children are killed and the server is stopped
 * however the run ends (success, an error, Ctrl-C, SIGTERM). Cleanups run last-registered first, so
 * replicas go before the database they use; each runs once.
 */
type Cleanup = { name: string; run: () => Promise<void> | void };

const stack: Cleanup[] = [];
let running: Promise<void> | undefined;

/** Registers a cleanup; the returned function unregisters it (after it ran normally). */
export function onCleanup(name: string, run: () => Promise<void> | void): () => void {
  const entry = { name, run };
  stack.push(entry);
  return () => {
    const index = stack.indexOf(entry);
    if (index >= 0) stack.splice(index, 1);
  };
}

export function runCleanups(): Promise<void> {
  running ??= (async () => {
    while (stack.length > 0) {
      const entry = stack.pop()!;
      try {
        await entry.run();
      } catch (error) {
        process.stderr.write(`[bench] cleanup "${entry.name}" failed: ${(error as Error).message}\n`);
      }
    }
  })();
  return running;
}

/**
 * For an entry point: on SIGINT/SIGTERM or an uncaught error, clean up and exit non-zero. A second
 * signal during cleanup exits at once.
 */
export function installExitHandlers(): void {
  let signalled = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) process.exit(130);
    signalled = true;
    process.stderr.write(`\n[bench] ${signal}: stopping children and the server…\n`);
    void runCleanups().finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const onFatal = (error: unknown) => {
    process.stderr.write(`[bench] fatal: ${(error as Error)?.stack ?? String(error)}\n`);
    void runCleanups().finally(() => process.exit(1));
  };
  process.on('uncaughtException', onFatal);
  process.on('unhandledRejection', onFatal);
}

/** Runs `main`, then the cleanups, and exits with 0 on success and 1 on failure. */
export async function runMain(main: () => Promise<void>): Promise<never> {
  installExitHandlers();
  let code = 0;
  try {
    await main();
  } catch (error) {
    process.stderr.write(`[bench] failed: ${(error as Error)?.stack ?? String(error)}\n`);
    code = 1;
  }
  await runCleanups();
  process.exit(code);
}
