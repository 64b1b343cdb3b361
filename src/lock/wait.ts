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
 * A waiter's guard on its own key: `signal` aborts when `key` is deleted after `afterRevision`
 * (the server deletes it when the waiter's lease is revoked or expires: the earliest sign that
 * the wait can no longer succeed) or when `parent` aborts. The watch starts on the first read
 * of `signal`, from `afterRevision`, so a deletion before that is still seen; an acquisition
 * that never blocks (no predecessor) never creates it. `current` is the guarded signal once
 * started and `parent` before.
 */
export class OwnKeyGuard {
  private controller: AbortController | undefined;
  private readonly stop = new AbortController();
  private detachParent: (() => void) | undefined;
  private disposed = false;

  constructor(
    private readonly client: Client,
    private readonly key: Key,
    private readonly afterRevision: bigint,
    readonly parent: AbortSignal,
    private readonly reason: () => unknown,
  ) {}

  /** True once the own-key watch was started. */
  get watching(): boolean {
    return this.controller !== undefined;
  }

  get signal(): AbortSignal {
    return (this.controller ?? this.start()).signal;
  }

  get current(): AbortSignal {
    return this.controller?.signal ?? this.parent;
  }

  dispose(): void {
    this.disposed = true;
    this.detachParent?.();
    this.stop.abort();
  }

  private start(): AbortController {
    const controller = new AbortController();
    this.controller = controller;
    if (this.disposed) {
      controller.abort(this.parent.reason ?? new Error('the wait is over'));
      return controller;
    }
    const parent = this.parent;
    const onParent = (): void => controller.abort(parent.reason);
    parent.addEventListener('abort', onParent, { once: true });
    this.detachParent = () => parent.removeEventListener('abort', onParent);
    if (parent.aborted) onParent();
    void waitForDelete(this.client, this.key, this.afterRevision, this.stop.signal).then(
      () => controller.abort(this.reason()),
      () => {},
    );
    return controller;
  }
}

/** An OwnKeyGuard (see there); the own-key watch starts when its `signal` is first read. */
export function abortOnDelete(client: Client, key: Key, afterRevision: bigint, parent: AbortSignal, reason: () => unknown): OwnKeyGuard {
  return new OwnKeyGuard(client, key, afterRevision, parent, reason);
}

/**
 * Waits until no key under `prefix` has a create revision at or below `maxCreateRevision`.
 * Each round reads the newest such key (our immediate predecessor) and waits for its deletion.
 * Returns the header revision of the final read. Given an OwnKeyGuard, the reads use its
 * `current` signal and only blocking starts its own-key watch: with no predecessor, no watch.
 */
export async function waitForPredecessors(client: Client, prefix: string, maxCreateRevision: bigint, signal: AbortSignal | OwnKeyGuard): Promise<bigint> {
  for (;;) {
    const readSignal = signal instanceof OwnKeyGuard ? signal.current : signal;
    const result = await client.get(prefix).prefix().sort('create', 'descend').limit(1).maxCreateRevision(maxCreateRevision).signal(readSignal);
    const predecessor = result.kvs[0];
    if (predecessor === undefined) return result.header.revision;
    const waitSignal = signal instanceof OwnKeyGuard ? signal.signal : signal;
    await waitForDelete(client, predecessor.keyBytes, result.header.revision, waitSignal, predecessor.createRevision);
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
