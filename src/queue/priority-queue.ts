/**
 * A priority queue with etcd's recipe layout: items `<name>/<priority, 5 digits>/<sequence,
 * 16 digits>`, lowest key first, so priority 0 is served first and, within a priority, items
 * come in enqueue order. The sequence is allocated as etcd does: read the last key of the
 * priority, then write it and the bookkeeping key `__<name>/<priority>` in one txn that
 * fails if the bookkeeping key changed since that read. Unlike etcd, the bookkeeping key also
 * holds the last sequence number handed out, so numbers are not reused once a priority drains
 * (etcd's recipe restarts at 0 then); a bookkeeping key written by etcd's recipe is empty and
 * counts as nothing handed out.
 */
import { InvalidOptionError, linkSignals, requireInteger } from '../base/index.js';
import { compare } from '../client/index.js';
import type { Client, OpLike } from '../client/index.js';
import { QueueConsumer } from './consumer.js';
import { layoutFor } from './layout.js';

const maxPriority = 65_535;

function parseSequence(text: string): bigint {
  return /^\d{1,20}$/.test(text) ? BigInt(text) : 0n;
}

export class PriorityQueue extends QueueConsumer {
  constructor(client: Client, readonly name: string) {
    if (typeof name !== 'string' || name.length === 0) throw new InvalidOptionError('name', 'must be a non-empty string');
    super(client, layoutFor(name, 'key'));
  }

  /** Adds `value` at `priority` (0 = served first, up to 65535). */
  async enqueue(value: string, priority: number, options: { signal?: AbortSignal } = {}): Promise<{ key: string; revision: bigint }> {
    if (typeof value !== 'string') throw new InvalidOptionError('value', 'must be a string');
    requireInteger('priority', priority, 0, maxPriority);
    const prefix = `${this.layout.itemPrefix}${String(priority).padStart(5, '0')}`;
    const bookkeeping = `__${prefix}`;
    const linked = linkSignals(options.signal, this.client.signal);
    try {
      const readLast = (): OpLike[] => [this.client.get(prefix).prefix().sort('key', 'descend').limit(1).keysOnly(), this.client.get(bookkeeping)];
      let read = await this.client.txn().do(...readLast()).signal(linked.signal);
      for (;;) {
        const lastKey = read.results[0]?.type === 'range' ? read.results[0].result.kvs[0]?.key : undefined;
        const recorded = read.results[1]?.type === 'range' ? read.results[1].result.kvs[0]?.value : undefined;
        let sequence = lastKey === undefined ? 0n : parseSequence(lastKey.slice(lastKey.lastIndexOf('/') + 1)) + 1n;
        if (recorded !== undefined && /^\d{1,16}$/.test(recorded) && BigInt(recorded) + 1n > sequence) sequence = BigInt(recorded) + 1n;
        const key = `${prefix}/${sequence.toString().padStart(16, '0')}`;
        const result = await this.client.txn()
          .if(compare.modRevision(bookkeeping, '<', read.header.revision + 1n))
          .do(this.client.put(bookkeeping, sequence.toString()), this.client.put(key, value))
          // Another producer got there first: its state comes back here, saving a read.
          .else(...readLast())
          .signal(linked.signal);
        if (result.succeeded) return { key, revision: result.header.revision };
        read = result;
      }
    } finally {
      linked.dispose();
    }
  }

  /** The priority of an item key this queue produced. */
  priorityOf(key: string): number {
    return Number(key.slice(this.layout.itemPrefix.length, this.layout.itemPrefix.length + 5));
  }
}
