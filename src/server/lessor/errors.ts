import { ConclaveError } from '../../base/errors.js';

/**
 * A primary-only lessor call (renew) on a member whose lessor is not primary; the server
 * forwards the call to the leader, as etcd does with its ErrNotPrimary.
 */
export class NotPrimaryError extends ConclaveError {
  constructor() {
    super('ERR_LESSOR_NOT_PRIMARY', 'not a primary lessor', { retryable: true });
    this.name = 'NotPrimaryError';
  }
}
