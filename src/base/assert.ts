/**
 * Invariant checks that stay on in production. A failed assertion means a bug in Conclave,
 * never bad input: bad input gets a typed error instead.
 */
export class AssertionError extends Error {
  override name = 'AssertionError';
}

export function assert(condition: unknown, message: string | (() => string)): asserts condition {
  if (!condition) {
    throw new AssertionError(typeof message === 'function' ? message() : message);
  }
}

/** Marks a switch as exhaustive: the compiler rejects a missing case, the runtime a bad value. */
export function unreachable(value: never, what = 'value'): never {
  throw new AssertionError(`unexpected ${what}: ${String(value)}`);
}
