/**
 * The acquisition skeleton shared by RWMutex and Semaphore: queue locally per (session, name),
 * put our key under the session lease unless it exists, then run a recipe-specific wait
 * (racing the session and the deletion of our own key), confirm the key is still ours, and on
 * any failure remove it. Same principles as Mutex (see mutex.ts).
 */
import { linkSignals, requireInteger } from '../base/index.js';
import { compare } from '../client/index.js';
import type { Session } from '../lease/index.js';
import { LockTimeoutError, SessionExpiredError } from './errors.js';
import { HeldLock } from './held-lock.js';
import { acquireLocal } from './local-queue.js';
import { abortOnDelete } from './wait.js';
import type { OwnKeyGuard } from './wait.js';
import { boundHold, checkHoldOptions } from './bounded-hold.js';
import type { BoundedHoldOptions } from './bounded-hold.js';
import { startCycle, trackHold } from './cycle.js';
import type { LockKind } from '../telemetry/index.js';

export interface QueuedAcquireOptions extends BoundedHoldOptions {
  readonly session: Session;
  /** Name for the local queue and error messages. */
  readonly name: string;
  readonly key: string;
  /** For telemetry. */
  readonly kind: LockKind;
  readonly signal?: AbortSignal;
  readonly timeoutMs?: number;
  /**
   * Resolves when our key (created at `myRevision`) may hold; may throw the signal's reason.
   * Reads use `guard.current`; only blocking should read `guard.signal` (which starts the
   * own-key watch), so an acquisition that need not wait creates no watch.
   */
  readonly wait: (myRevision: bigint, guard: OwnKeyGuard) => Promise<void>;
}

export async function queuedAcquire(options: QueuedAcquireOptions): Promise<HeldLock> {
  const { session, name, key } = options;
  checkHoldOptions(options);
  const client = session.client;
  const cycle = startCycle(options.kind, name, client);
  const timeout = options.timeoutMs === undefined ? undefined : requireInteger('timeoutMs', options.timeoutMs, 0);
  // Without a time limit there is nothing to link a timer signal for.
  const timer = timeout === undefined ? undefined : new AbortController();
  const cancelTimer = timeout === undefined ? undefined : client.clock.setTimer(timeout, () => timer!.abort(new LockTimeoutError(name, timeout)));
  const linked = linkSignals(options.signal, timer?.signal, session.signal);
  const explain = (error: unknown): unknown => {
    if (error instanceof LockTimeoutError || error instanceof SessionExpiredError) return error;
    return session.lost ? new SessionExpiredError(name, session.signal.reason) : error;
  };
  try {
    const releaseLocal = await acquireLocal(session, name, linked.signal).catch((error: unknown) => {
      throw explain(error);
    });
    let ownKey: OwnKeyGuard | undefined;
    try {
      const result = await client.txn().if(compare.absent(key)).do(client.put(key, '').lease(session.leaseId)).else(client.get(key)).signal(linked.signal);
      let myRevision = result.header.revision;
      if (!result.succeeded) {
        const existing = result.results[0]?.type === 'range' ? result.results[0].result.kvs[0] : undefined;
        if (existing !== undefined) myRevision = existing.createRevision;
      }
      ownKey = abortOnDelete(client, key, result.header.revision, linked.signal, () => new SessionExpiredError(name, 'our key was deleted (lease revoked or expired)'));
      await options.wait(myRevision, ownKey);
      const mine = await client.get(key).signal(ownKey.current);
      const kv = mine.kvs[0];
      if (kv === undefined || kv.createRevision !== myRevision || session.lost) throw new SessionExpiredError(name, session.signal.reason);
      return boundHold(trackHold(cycle, new HeldLock({ session, key, token: myRevision, revision: mine.header.revision, releaseLocal })), options, client.clock);
    } catch (error) {
      if (!session.lost) await client.deleteOwnKey(key).catch(() => {});
      releaseLocal();
      throw explain(error);
    } finally {
      ownKey?.dispose();
    }
  } catch (error) {
    cycle.failed(error);
    throw error;
  } finally {
    cancelTimer?.();
    linked.dispose();
  }
}
