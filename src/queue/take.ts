/**
 * Taking items off a queue. At most once (etcd's recipe): delete the first item if it is
 * unchanged since read. At least once (ours): put a claim key under a lease if the item is
 * unchanged and unclaimed; the item stays until acknowledged. Both wait, when the queue has
 * nothing to give, on a watch from the revision of the read that found it empty.
 */
import { linkSignals, throwIfAborted } from '../base/index.js';
import { compare } from '../client/index.js';
import type { Client, KeyValue, RangeBuilder } from '../client/index.js';
import { claimKeyFor, itemKeyFor } from './layout.js';
import type { QueueLayout } from './layout.js';

/** Items are read a page at a time; a page grows past the claimed items it must skip. */
const pageItems = 16;

function firstItems(client: Client, layout: QueueLayout, limit: number): RangeBuilder {
  return client.get(layout.itemPrefix).prefix().sort(layout.order, 'ascend').limit(limit);
}

/** Removes and returns the first item, waiting for one when `wait` is set. */
export async function takeAtMostOnce(client: Client, layout: QueueLayout, signal: AbortSignal, wait: boolean): Promise<KeyValue | undefined> {
  for (;;) {
    throwIfAborted(signal);
    const page = await firstItems(client, layout, 1).signal(signal);
    const first = page.kvs[0];
    if (first === undefined) {
      if (!wait) return undefined;
      await waitForChange(client, [{ prefix: layout.itemPrefix, type: 'put' }], page.header.revision, signal);
      continue;
    }
    const taken = await client.txn().if(compare.modRevision(first.key, '==', first.modRevision)).do(client.delete(first.key)).signal(signal);
    if (taken.succeeded) return first;
  }
}

export interface Claimed {
  readonly kv: KeyValue;
  readonly claimKey: string;
  readonly claimRevision: bigint;
}

/**
 * Claims the first unclaimed item under `leaseId()` (called only once there is an item to
 * claim, so a per-delivery lease is not granted while the queue is empty). Items are tried in
 * queue order; when another consumer claims one first, the next one is tried, so claims of
 * one priority still follow item order.
 */
export async function claimFirst(client: Client, layout: QueueLayout, leaseId: () => Promise<bigint>, signal: AbortSignal, wait: boolean): Promise<Claimed | undefined> {
  for (;;) {
    throwIfAborted(signal);
    const snapshot = await client.txn()
      .do(client.get(layout.claimPrefix).prefix().keysOnly(), firstItems(client, layout, pageItems))
      .signal(signal);
    const claims = snapshot.results[0]?.type === 'range' ? snapshot.results[0].result : undefined;
    const claimed = new Set((claims?.kvs ?? []).map((kv) => itemKeyFor(layout, kv.key)));
    let items = snapshot.results[1]?.type === 'range' ? snapshot.results[1].result : undefined;
    if (items !== undefined && items.more && items.kvs.every((kv) => claimed.has(kv.key))) {
      // Every item of the page is being processed: read past them at the same revision.
      items = await firstItems(client, layout, claimed.size + pageItems).revision(snapshot.header.revision).signal(signal);
    }
    const candidates = (items?.kvs ?? []).filter((kv) => !claimed.has(kv.key));
    if (candidates.length === 0) {
      if (!wait) return undefined;
      await waitForChange(client, [{ prefix: layout.itemPrefix, type: 'put' }, { prefix: layout.claimPrefix, type: 'delete' }], snapshot.header.revision, signal);
      continue;
    }
    for (const kv of candidates) {
      if (claimed.has(kv.key)) continue;
      const claimKey = claimKeyFor(layout, kv.key);
      const lease = await leaseId();
      const result = await client.txn()
        .if(compare.modRevision(kv.key, '==', kv.modRevision), compare.absent(claimKey))
        .do(client.put(claimKey, '').lease(lease))
        // Lost the race: learn every claim made since, and skip those items without trying them.
        .else(client.get(layout.claimPrefix).prefix().keysOnly())
        .signal(signal);
      if (result.succeeded) return { kv, claimKey, claimRevision: result.header.revision };
      const now = result.results[0]?.type === 'range' ? result.results[0].result.kvs : [];
      for (const claim of now) claimed.add(itemKeyFor(layout, claim.key));
    }
  }
}

/** Resolves at the first event of a listed type under any listed prefix after `revision`. */
async function waitForChange(client: Client, on: ReadonlyArray<{ prefix: string; type: 'put' | 'delete' }>, revision: bigint, signal: AbortSignal): Promise<void> {
  const stop = new AbortController();
  const linked = linkSignals(signal, stop.signal);
  try {
    await Promise.race(on.map(async ({ prefix, type }) => {
      const watcher = client.watch(prefix, { prefix: true, startRevision: revision + 1n, noPut: type === 'delete', noDelete: type === 'put', signal: linked.signal });
      try {
        await watcher.next();
      } finally {
        watcher.close();
      }
    }));
  } catch (error) {
    // A compacted or broken watch: the caller reads the queue again, which is always safe.
    throwIfAborted(signal);
    if (!(error instanceof Error)) throw error;
  } finally {
    stop.abort();
    linked.dispose();
  }
}
