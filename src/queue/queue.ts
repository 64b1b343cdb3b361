/**
 * A FIFO queue with etcd's recipe layout (`<name>/<unix ns>`, taken by lowest create
 * revision), so Go's `recipe.Queue` can share it. See consumer.ts for taking items.
 */
import { InvalidOptionError, linkSignals } from '../base/index.js';
import { compare } from '../client/index.js';
import type { Client } from '../client/index.js';
import { QueueConsumer } from './consumer.js';
import { layoutFor } from './layout.js';

let lastNanos = 0n;

/** Unix nanoseconds as etcd's recipe names items, kept strictly increasing within this process. */
function uniqueNanos(): bigint {
  const now = BigInt(Date.now()) * 1_000_000n;
  lastNanos = now > lastNanos ? now : lastNanos + 1n;
  return lastNanos;
}

export class Queue extends QueueConsumer {
  constructor(client: Client, readonly name: string) {
    if (typeof name !== 'string' || name.length === 0) throw new InvalidOptionError('name', 'must be a non-empty string');
    super(client, layoutFor(name, 'create'));
  }

  /** Appends `value`; resolves with the item key and the revision it was written at. */
  async enqueue(value: string, options: { signal?: AbortSignal } = {}): Promise<{ key: string; revision: bigint }> {
    if (typeof value !== 'string') throw new InvalidOptionError('value', 'must be a string');
    const linked = linkSignals(options.signal, this.client.signal);
    try {
      for (;;) {
        // A key taken by another producer in the same nanosecond: etcd retries with a new name too.
        const key = `${this.layout.itemPrefix}${uniqueNanos()}`;
        const result = await this.client.txn().if(compare.version(key, '==', 0n)).do(this.client.put(key, value)).signal(linked.signal);
        if (result.succeeded) return { key, revision: result.header.revision };
      }
    } finally {
      linked.dispose();
    }
  }
}
