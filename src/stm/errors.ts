/** Typed errors of the STM and Counter recipes; `code` is what callers match on. */
import { ConclaveError } from '../base/index.js';

/** Every attempt of a transaction conflicted with a concurrent writer; nothing was written. */
export class StmConflictError extends ConclaveError {
  readonly attempts: number;

  constructor(attempts: number) {
    super('ERR_STM_CONFLICT', `transaction gave up after ${attempts} conflicting attempts`);
    this.name = 'StmConflictError';
    this.attempts = attempts;
  }
}

/** A Counter key holds something other than a decimal integer. */
export class CounterValueError extends ConclaveError {
  constructor(key: string, value: string) {
    super('ERR_COUNTER_NOT_INTEGER', `counter ${JSON.stringify(key)} holds ${JSON.stringify(value.slice(0, 40))}, not a decimal integer`);
    this.name = 'CounterValueError';
  }
}
