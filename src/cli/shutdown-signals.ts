/**
 * Stop requests from signals, for the long-running commands (`belfry start`, `belfry dev`).
 *
 * One Ctrl-C can arrive as several signals: the terminal sends SIGINT to the whole foreground process
 * group, and `npm start` forwards its own copy to its child. Signals that arrive within `sameRequestMs`
 * of the first are the same request and are ignored; a signal after that is a deliberate second
 * request ("stop now"). SIGHUP (the terminal closed) counts as a stop request too.
 */
import type { Clock } from '../time/clock.js';

export const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

export interface StopRequestHandlers {
  /** The first request: stop gracefully. */
  graceful(signal: NodeJS.Signals): void;
  /** A later, separate request: stop now. */
  urgent(signal: NodeJS.Signals): void;
}

export interface SignalSource {
  on(signal: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): unknown;
  removeListener(signal: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): unknown;
}

/** Installs the handlers on `source` (the process); returns a function that removes them. */
export function onStopSignals(
  handlers: StopRequestHandlers,
  deps: { clock: Clock; source?: SignalSource; sameRequestMs?: number },
): () => void {
  const source = deps.source ?? process;
  const sameRequestMs = deps.sameRequestMs ?? 1_000;
  let firstAt: number | undefined;
  const listener = (signal: NodeJS.Signals) => {
    const at = deps.clock.monotonicMs();
    if (firstAt === undefined) {
      firstAt = at;
      handlers.graceful(signal);
    } else if (at - firstAt >= sameRequestMs) {
      handlers.urgent(signal);
    }
  };
  for (const signal of STOP_SIGNALS) source.on(signal, listener);
  return () => {
    for (const signal of STOP_SIGNALS) source.removeListener(signal, listener);
  };
}
