/** Typed errors of the queue recipes; `code` is what callers match on. */
import { ConclaveError } from '../base/index.js';

/**
 * `ack()` or `nack()` came after the delivery's claim was gone (its lease expired or was
 * revoked, or the visibility timeout passed): the item is, or will be, delivered again.
 */
export class DeliveryExpiredError extends ConclaveError {
  constructor(key: string) {
    super('ERR_QUEUE_DELIVERY_EXPIRED', `queue item ${JSON.stringify(key)}: the claim expired before it was settled; the item will be delivered again`);
    this.name = 'DeliveryExpiredError';
  }
}
