/**
 * One at-least-once delivery: the item stays in the queue, claimed by a key under a lease,
 * until `ack()` deletes item and claim in one txn. If the consumer dies, or the visibility
 * timeout passes, the claim's lease goes and the item is visible again. `signal` aborts when
 * the claim is known gone (locally: session lost or visibility deadline passed).
 */
import { ConclaveError, linkSignals } from '../base/index.js';
import { compare } from '../client/index.js';
import type { Client } from '../client/index.js';
import { DeliveryExpiredError } from './errors.js';

export interface DeliveryInit {
  readonly client: Client;
  readonly key: string;
  readonly value: string;
  readonly claimKey: string;
  readonly claimRevision: bigint;
  readonly createRevision: bigint;
  /** Aborts when the claim is lost. */
  readonly lost: AbortSignal;
  /** Called once when the delivery is settled (e.g. to revoke a per-delivery lease). */
  readonly onSettled?: () => void;
}

export class Delivery implements AsyncDisposable {
  readonly key: string;
  readonly value: string;
  /** Revision of the claim: among deliveries of one priority, claims follow item order. */
  readonly claimRevision: bigint;
  /** The item's create revision. */
  readonly createRevision: bigint;
  private readonly client: Client;
  private readonly claimKey: string;
  private readonly controller = new AbortController();
  private readonly link: { signal: AbortSignal; dispose: () => void };
  private settled: Promise<void> | undefined;
  private readonly onSettled: (() => void) | undefined;

  constructor(init: DeliveryInit) {
    this.client = init.client;
    this.key = init.key;
    this.value = init.value;
    this.claimKey = init.claimKey;
    this.claimRevision = init.claimRevision;
    this.createRevision = init.createRevision;
    this.onSettled = init.onSettled;
    this.link = linkSignals(init.lost, this.controller.signal);
  }

  /** Aborts when the claim is lost (the item will be redelivered) or the delivery is settled. */
  get signal(): AbortSignal {
    return this.link.signal;
  }

  /** The item is done: removes it and the claim. Throws DeliveryExpiredError if the claim was gone. */
  ack(): Promise<void> {
    return this.settle(true);
  }

  /** Gives the item back at once (without waiting for the claim to expire). */
  nack(): Promise<void> {
    return this.settle(false);
  }

  /** Gives the item back unless it was acknowledged. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.settle(false).catch(() => {});
  }

  private settle(done: boolean): Promise<void> {
    this.settled ??= (async () => {
      try {
        const ops = done ? [this.client.delete(this.key), this.client.delete(this.claimKey)] : [this.client.delete(this.claimKey)];
        const result = await this.client.txn().if(compare.createRevision(this.claimKey, '==', this.claimRevision)).do(...ops);
        if (!result.succeeded) throw new DeliveryExpiredError(this.key);
      } finally {
        this.controller.abort(new ConclaveError('ERR_QUEUE_DELIVERY_SETTLED', `queue item ${JSON.stringify(this.key)}: ${done ? 'acknowledged' : 'given back'}`));
        this.link.dispose();
        this.onSettled?.();
      }
    })();
    return this.settled;
  }
}
