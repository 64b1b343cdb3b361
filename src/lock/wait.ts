/**
 * Waiting helpers shared by the lock and election recipes: wait for one key's deletion, and
 * wait until no key under a prefix was created before a given revision, watching only the
 * immediate predecessor each time (no herd effect when the holder goes).
 */
import { ConclaveError } from '../base/index.js';
import { WatchCompactedError } from '../client/index.js';
import type { Client, Key } from '../client/index.js';

/**
 * Resolves once `key` is deleted at a revision after `afterRevision` (or is already gone, or
 * was replaced by a newer incarnation when `createRevision` is given). If the history the
 * watch needs was compacted, the key is read again instead of failing.
 */
export async function waitForDelete(client: Client, key: Key, afterRevision: bigint, signal: AbortSignal, createRevision?: bigint): Promise<void> {
  let from = afterRevision;
  for (;;) {
    const watcher = client.watch(key, { startRevision: from + 1n, noPut: true, signal });
    try {
      for await (const event of watcher) {
        if (event.type === 'delete') return;
      }
      throw new ConclaveError('ERR_WATCH_ENDED', 'the watch ended before the key was deleted');
    } catch (error) {
      if (!(error instanceof WatchCompactedError)) throw error;
    } finally {
      watcher.close();
    }
    const current = await client.get(key).signal(signal);
    const kv = current.kvs[0];
    if (kv === undefined || (createRevision !== undefined && kv.createRevision !== createRevision)) return;
    from = current.header.revision;
  }
}

/**
 * Aborts the returned signal when `key` is deleted after `afterRevision` (or when `parent`
 * aborts). A waiter uses it on its own key: the server deletes it when the waiter's lease is
 * revoked or expires, which is the earliest sign that the wait can no longer succeed.
 */
export function abortOnDelete(client: Client, key: Key, afterRevision: bigint, parent: AbortSignal, reason: () => unknown): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const stop = new AbortController();
  const onParent = (): void => controller.abort(parent.reason);
  parent.addEventListener('abort', onParent, { once: true });
  if (parent.aborted) onParent();
  void waitForDelete(client, key, afterRevision, stop.signal).then(
    () => controller.abort(reason()),
    () => {},
  );
  return {
    signal: controller.signal,
    dispose: () => {
      parent.removeEventListener('abort', onParent);
      stop.abort();
    },
  };
}

/**
 * Waits until no key under `prefix` has a create revision at or below `maxCreateRevision`.
 * Each round reads the newest such key (our immediate predecessor) and waits for its deletion.
 * Returns the header revision of the final read.
 */
export async function waitForPredecessors(client: Client, prefix: string, maxCreateRevision: bigint, signal: AbortSignal): Promise<bigint> {
  for (;;) {
    const result = await client.get(prefix).prefix().sort('create', 'descend').limit(1).maxCreateRevision(maxCreateRevision).signal(signal);
    const predecessor = result.kvs[0];
    if (predecessor === undefined) return result.header.revision;
    await waitForDelete(client, predecessor.keyBytes, result.header.revision, signal, predecessor.createRevision);
  }
}

/** Rejects with `signal.reason` when the signal aborts, else settles as `promise` does. */
export function raceSignal<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
