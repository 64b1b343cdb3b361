/**
 * A double barrier: `enter()` blocks until `count` sessions have entered, `leave()` blocks
 * until all of them have left. Layout (etcd's recipe): `<key>/waiters/<lease hex>` per
 * participant under its session lease, and `<key>/ready` put by the count-th arrival. Includes
 * the fix for etcd#14603: after creating its key an arrival recounts, and one beyond `count`
 * withdraws with ERR_BARRIER_TOO_MANY instead of being admitted. A participant whose session
 * ends drops out (its key goes with the lease).
 */
import { InvalidOptionError, requireInteger, toHex } from '../base/index.js';
import type { Session } from '../lease/index.js';
import { waitForDelete } from '../lock/index.js';
import { neverAborted } from './barrier.js';
import { BarrierError } from './errors.js';

export class DoubleBarrier {
  readonly waitersPrefix: string;
  readonly readyKey: string;
  readonly myKey: string;
  readonly count: number;

  constructor(readonly session: Session, readonly key: string, count: number) {
    if (typeof key !== 'string' || key.length === 0) throw new InvalidOptionError('key', 'must be a non-empty string');
    this.count = requireInteger('count', count, 1, 100_000);
    this.waitersPrefix = `${key}/waiters/`;
    this.readyKey = `${key}/ready`;
    this.myKey = `${this.waitersPrefix}${toHex(session.leaseId)}`;
  }

  /** Waits until `count` participants have entered. */
  async enter(options: { signal?: AbortSignal } = {}): Promise<void> {
    const client = this.session.client;
    const signal = AbortSignal.any([options.signal ?? neverAborted(), this.session.signal]);
    const before = await client.get(this.waitersPrefix).prefix().countOnly().signal(signal);
    if (before.count >= BigInt(this.count)) throw new BarrierError('ERR_BARRIER_TOO_MANY', `double barrier ${JSON.stringify(this.key)} already has ${this.count} participants`);
    await client.put(this.myKey, '').lease(this.session.leaseId).signal(signal);
    const state = await client.txn()
      .do(client.get(this.waitersPrefix).prefix().sort('create', 'ascend'), client.get(this.readyKey))
      .signal(signal);
    const waiters = state.results[0]?.type === 'range' ? state.results[0].result.kvs : [];
    const ready = state.results[1]?.type === 'range' ? state.results[1].result.kvs.length > 0 : false;
    const position = waiters.findIndex((kv) => kv.key === this.myKey);
    if (position < 0) throw new BarrierError('ERR_BARRIER_NOT_ENTERED', `double barrier ${JSON.stringify(this.key)}: our key vanished while entering`);
    if (position >= this.count) {
      await client.deleteOwnKey(this.myKey);
      throw new BarrierError('ERR_BARRIER_TOO_MANY', `double barrier ${JSON.stringify(this.key)} already has ${this.count} participants`);
    }
    if (ready) return;
    if (position === this.count - 1) {
      await client.put(this.readyKey, '').signal(signal);
      return;
    }
    const watcher = client.watch(this.readyKey, { startRevision: state.header.revision + 1n, noDelete: true, signal });
    try {
      await watcher.next();
    } finally {
      watcher.close();
    }
  }

  /** Waits until every participant has left. */
  async leave(options: { signal?: AbortSignal } = {}): Promise<void> {
    const client = this.session.client;
    const signal = options.signal ?? neverAborted();
    for (;;) {
      const result = await client.get(this.waitersPrefix).prefix().sort('create', 'ascend').signal(signal);
      const waiters = result.kvs;
      if (waiters.length === 0) return;
      const lowest = waiters[0]!;
      const highest = waiters[waiters.length - 1]!;
      const mine = waiters.find((kv) => kv.key === this.myKey);
      if (mine === undefined) throw new BarrierError('ERR_BARRIER_NOT_ENTERED', `double barrier ${JSON.stringify(this.key)}: not entered`);
      if (waiters.length === 1) {
        // The last one out lowers the ready flag for the next round.
        await client.txn().do(client.delete(this.myKey), client.delete(this.readyKey)).signal(signal);
        return;
      }
      if (lowest.key === this.myKey) {
        await waitForDelete(client, highest.keyBytes, result.header.revision, signal, highest.createRevision);
        continue;
      }
      await client.deleteOwnKey(this.myKey, { signal });
      await waitForDelete(client, lowest.keyBytes, result.header.revision, signal, lowest.createRevision);
      return;
    }
  }
}
