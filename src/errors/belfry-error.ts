/**
 * The base of every error Belfry throws on purpose. `code` is stable and registered in error-codes.ts
 * (match on it, never on the message); `cause` is the standard one (ErrorOptions); `name` is the
 * subclass's name, so logs and stacks say `ScheduleError`, not `Error`.
 *
 * A leaf module like error-codes.ts: it imports only that registry, so every layer may import it.
 */
import type { ErrorCode } from './error-codes.js';

export class BelfryError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }

  /**
   * The base of an error that is a message (and a cause) under one fixed code, so that each such class
   * is declared in one line: `export class UsageError extends BelfryError.withCode('BELFRY_ERR_USAGE') {}`.
   */
  static withCode(code: ErrorCode): new (message: string, options?: ErrorOptions) => BelfryError {
    return class extends BelfryError {
      constructor(message: string, options?: ErrorOptions) {
        super(code, message, options);
      }
    };
  }
}
