/** Typed errors of the barrier recipes. */
import { ConclaveError } from '../base/index.js';

export class BarrierError extends ConclaveError {
  constructor(code: 'ERR_BARRIER_HELD' | 'ERR_BARRIER_TOO_MANY' | 'ERR_BARRIER_NOT_ENTERED', message: string) {
    super(code, message);
    this.name = 'BarrierError';
  }
}
