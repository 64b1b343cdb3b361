/**
 * The base of every typed error Conclave throws. `code` is stable across releases and is what
 * callers match on; the message is for people. `Symbol.for` brands survive duplicate copies
 * of the package in one process, where `instanceof` does not.
 */
const brand = Symbol.for('conclave.error');

export class ConclaveError extends Error {
  readonly code: string;
  /** Whether repeating the same call may succeed (never true for a write that may have landed). */
  readonly retryable: boolean;

  constructor(code: string, message: string, options: { cause?: unknown; retryable?: boolean } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ConclaveError';
    this.code = code;
    this.retryable = options.retryable ?? false;
  }

  get [brand](): true {
    return true;
  }

  static is(value: unknown): value is ConclaveError {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[brand] === true;
  }
}

/** Thrown when an options object fails validation; `option` names the offending field. */
export class InvalidOptionError extends ConclaveError {
  readonly option: string;

  constructor(option: string, message: string) {
    super('ERR_INVALID_OPTION', `${option}: ${message}`);
    this.name = 'InvalidOptionError';
    this.option = option;
  }
}
