/**
 * The errors of one YAML entry (a job, a trigger) as its builder finds them. A builder reports every
 * problem it can find before it gives up, so it records each one and asks `failed` at the end, rather
 * than stopping at the first.
 */
import type { DataPath } from './yaml-source.js';

export interface EntryErrorSink {
  /** The entry's path in the file; a failure's path is relative to it. */
  path: DataPath;
  error: (path: DataPath, message: string) => void;
}

export class EntryErrors {
  #failed = false;

  constructor(private readonly sink: EntryErrorSink) {}

  /** Whether any problem has been reported for this entry. */
  get failed(): boolean {
    return this.#failed;
  }

  /** Reports a problem at `path` under the entry. Bound, so a builder can pass it on as a function. */
  readonly fail = (path: DataPath, message: string): void => {
    this.#failed = true;
    this.sink.error([...this.sink.path, ...path], message);
  };
}
