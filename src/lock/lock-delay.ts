/**
 * Lock-delay (Chubby's and Consul's): when the holder before us lost its session instead of
 * unlocking, we are not granted the lock until `lockDelayMs` has passed since we saw the loss,
 * so writes the lost holder still had in flight land before ours. A clean unlock hands off at
 * once.
 *
 * How a waiter tells the two apart, with etcd's key layout unchanged (etcdctl lock interop):
 * while waiting it watches the lock prefix (deletes only, with prev_kv) from the revision it
 * queued at, starting from the set of keys older than its own. The deletion that empties that
 * set is the hand-off: the deleted key was the holder (the last older key standing is the
 * oldest). Its prev_kv names the holder's lease. A lease revoke or expiry deletes the lease and
 * its keys in one step, so if the lease no longer exists the holder was lost; if the lease
 * still lives, the key was deleted explicitly (unlock(), etcdctl's unlock, or an operator's
 * delete), which is a clean hand-off.
 *
 * Errs only towards waiting: a holder that unlocks and then at once revokes its lease may be
 * taken for lost, and if the history the watch needs was compacted the loss is assumed.
 * Limits (see docs/lock.md): it protects waiters that were queued when the holder went; an
 * acquirer that arrives after the lost holder's key is gone, with nobody waiting, is granted
 * at once; the delay is measured on the waiter's clock from when it saw the deletion.
 */
import { deferred, sleep } from '../base/index.js';
import type { Clock, Deferred } from '../base/index.js';
import type { Client } from '../client/index.js';
import { raceSignal } from './wait.js';

/** How the previous holder went, as seen by the next one. */
export interface HandoffInfo {
  /** 'lost': its lease was gone when its key went; 'released': the key was deleted while the lease lived. */
  readonly cause: 'lost' | 'released' | 'unknown';
  /** The previous holder's key and lease (when known). */
  readonly key?: string;
  readonly lease?: bigint;
  /** Revision of the previous holder's deletion (when known). */
  readonly revision?: bigint;
  /** How long the grant was held back. */
  readonly delayedMs: number;
}

interface Seen {
  readonly key?: string;
  readonly lease?: bigint;
  readonly revision?: bigint;
  readonly observedAtMs: number;
}

export class HandoffObserver {
  private readonly seen: Deferred<Seen> = deferred();
  private readonly stop = new AbortController();

  /**
   * Starts watching from `queuedRevision` (the revision our key was written at, or later) for
   * the deletions of every key created before `myRevision`.
   */
  constructor(
    private readonly client: Client,
    private readonly prefix: string,
    private readonly myRevision: bigint,
    queuedRevision: bigint,
    private readonly clock: Clock,
  ) {
    void this.run(queuedRevision).catch(() => this.seen.resolve({ observedAtMs: this.clock.nowMs() }));
  }

  /**
   * Call once the wait for predecessors is over: resolves when the grant may go ahead (after
   * the delay if the previous holder was lost). Rejects with `signal.reason` if it aborts.
   */
  async settle(lockDelayMs: number, signal: AbortSignal): Promise<HandoffInfo> {
    const seen = await raceSignal(this.seen.promise, signal);
    this.dispose();
    let cause: HandoffInfo['cause'] = 'unknown';
    if (seen.lease !== undefined) {
      if (seen.lease === 0n) cause = 'released';
      else cause = (await this.client.leaseTimeToLive(seen.lease, { signal })).ttlSeconds < 0 ? 'lost' : 'released';
    }
    let delayedMs = 0;
    if (cause !== 'released') {
      delayedMs = Math.max(0, lockDelayMs - (this.clock.nowMs() - seen.observedAtMs));
      if (delayedMs > 0) await sleep(this.clock, delayedMs, signal);
    }
    return {
      cause, delayedMs,
      ...(seen.key === undefined ? {} : { key: seen.key }),
      ...(seen.lease === undefined ? {} : { lease: seen.lease }),
      ...(seen.revision === undefined ? {} : { revision: seen.revision }),
    };
  }

  dispose(): void {
    this.stop.abort();
  }

  private async run(queuedRevision: bigint): Promise<void> {
    const older = await this.client.get(this.prefix).prefix().keysOnly().maxCreateRevision(this.myRevision - 1n).revision(queuedRevision).signal(this.stop.signal);
    const waitingFor = new Set(older.kvs.map((kv) => kv.key));
    if (waitingFor.size === 0) {
      // Nobody was ahead of us when we queued: nothing was handed off to us.
      this.seen.resolve({ observedAtMs: this.clock.nowMs(), lease: 0n });
      return;
    }
    const watcher = this.client.watch(this.prefix, { prefix: true, startRevision: queuedRevision + 1n, noPut: true, prevKv: true, signal: this.stop.signal });
    try {
      for await (const event of watcher) {
        const previous = event.prevKv;
        if (!waitingFor.delete(event.kv.key) || waitingFor.size > 0) continue;
        this.seen.resolve({ key: event.kv.key, ...(previous === undefined ? {} : { lease: previous.lease }), revision: event.revision, observedAtMs: this.clock.nowMs() });
        return;
      }
    } finally {
      watcher.close();
    }
  }
}
