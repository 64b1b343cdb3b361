/**
 * A barrier blocks waiters while its key exists: `hold()` creates the key (failing if it is
 * already held), `release()` deletes it, `wait()` returns once it is absent. Waiting starts
 * from the revision of the read that saw the key, so a release between the read and the watch
 * is never missed (the bug of etcd#16223). Holding under a session makes a crashed holder
 * release the barrier when its lease expires.
 */
import { InvalidOptionError } from '../base/index.js';
import { compare } from '../client/index.js';
import type { CallOptions, Client } from '../client/index.js';
import type { Session } from '../lease/index.js';
import { waitForDelete } from '../lock/index.js';
import { BarrierError } from './errors.js';

export class Barrier {
  constructor(readonly client: Client, readonly key: string) {
    if (typeof key !== 'string' || key.length === 0) throw new InvalidOptionError('key', 'must be a non-empty string');
  }

  /** Raises the barrier; throws ERR_BARRIER_HELD if it already stands. */
  async hold(options: CallOptions & { session?: Session } = {}): Promise<void> {
    const put = this.client.put(this.key, '').lease(options.session?.leaseId ?? 0n);
    const result = await this.client.txn().if(compare.absent(this.key)).do(put).signal(options.signal ?? neverAborted());
    if (!result.succeeded) throw new BarrierError('ERR_BARRIER_HELD', `barrier ${JSON.stringify(this.key)} is already held`);
  }

  /** Lowers the barrier, letting every waiter through. */
  async release(options: CallOptions = {}): Promise<void> {
    await this.client.deleteOwnKey(this.key, options);
  }

  /** True while the barrier stands. */
  async isHeld(options: CallOptions = {}): Promise<boolean> {
    return (await this.client.get(this.key).signal(options.signal ?? neverAborted())).kvs.length > 0;
  }

  /** Returns once the barrier is not held (at once if it is not held now). */
  async wait(options: { signal?: AbortSignal } = {}): Promise<void> {
    const signal = options.signal ?? neverAborted();
    const current = await this.client.get(this.key).signal(signal);
    if (current.kvs.length === 0) return;
    await waitForDelete(this.client, this.key, current.header.revision, signal);
  }
}

export function neverAborted(): AbortSignal {
  return new AbortController().signal;
}
