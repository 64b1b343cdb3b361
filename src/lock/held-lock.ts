/**
 * A held lock: its key, its fencing token (the key's create revision), and a signal that
 * aborts when the lock is lost (the session ended or the key was deleted by someone else) or
 * released. Shared by Mutex, RWMutex and Semaphore.
 */
import { compare } from '../client/index.js';
import type { Client, CompareSpec } from '../client/index.js';
import type { Session } from '../lease/index.js';
import { LockLostError, LockReleasedError } from './errors.js';
import { waitForDelete } from './wait.js';

export interface HeldLockInit {
  readonly session: Session;
  readonly key: string;
  readonly token: bigint;
  /** Header revision at which ownership was confirmed; loss is watched from the next one. */
  readonly revision: bigint;
  /** Releases the in-process turn; called once, after the key is deleted. */
  readonly releaseLocal: () => void;
}

export class HeldLock implements AsyncDisposable {
  /** The lock key, `<name>/<lease id in hex>` (relative to the client's namespace). */
  readonly key: string;
  /**
   * The fencing token: the key's create revision. It increases strictly from one holder to the
   * next; hand it to the protected resource with every write (see FencingGuard).
   */
  readonly token: bigint;
  /** Store revision at which ownership was confirmed. */
  readonly revision: bigint;
  private readonly controller = new AbortController();
  private readonly client: Client;
  private readonly session: Session;
  private readonly releaseLocal: () => void;
  private readonly detachSession: () => void;
  private unlocking: Promise<void> | undefined;

  constructor(init: HeldLockInit) {
    this.key = init.key;
    this.token = init.token;
    this.revision = init.revision;
    this.session = init.session;
    this.client = init.session.client;
    this.releaseLocal = init.releaseLocal;
    const onSessionLost = (): void => this.lose('its session ended', init.session.signal.reason, 'session');
    init.session.signal.addEventListener('abort', onSessionLost, { once: true });
    this.detachSession = () => init.session.signal.removeEventListener('abort', onSessionLost);
    if (init.session.signal.aborted) onSessionLost();
    else void this.watchOwnKey();
  }

  /** Aborts when the lock is lost or released; its reason says which (ERR_LOCK_LOST / ERR_LOCK_RELEASED). */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** True while the lock is believed held (no loss or release seen yet). */
  get held(): boolean {
    return !this.controller.signal.aborted;
  }

  /**
   * A txn compare that holds only while this lock is held: put it in the `if` of txns that
   * must not apply after the lock was lost.
   */
  ifOwner(): CompareSpec {
    return compare.createRevision(this.key, '==', this.token);
  }

  /** Deletes the lock key and releases the lock. Idempotent. */
  unlock(): Promise<void> {
    return this.release(new LockReleasedError(this.key));
  }

  /**
   * Like unlock(), with `reason` as the signal's abort reason (a bounded hold passes
   * ERR_LOCK_HOLD_EXPIRED). Idempotent: the first reason wins.
   */
  release(reason: unknown): Promise<void> {
    this.unlocking ??= (async () => {
      this.abort(reason);
      try {
        if (!this.session.lost) await this.client.deleteOwnKey(this.key);
      } finally {
        this.releaseLocal();
      }
    })();
    return this.unlocking;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.unlock();
  }

  private lose(why: string, cause: unknown, lossCause: LockLostError['lossCause']): void {
    if (this.controller.signal.aborted) return;
    this.abort(new LockLostError(this.key, why, cause, lossCause));
  }

  private abort(reason: unknown): void {
    this.detachSession();
    if (!this.controller.signal.aborted) this.controller.abort(reason);
  }

  /** Watches our own key from the confirming revision: its deletion means the lock is gone. */
  private async watchOwnKey(): Promise<void> {
    try {
      await waitForDelete(this.client, this.key, this.revision, this.controller.signal, this.token);
      this.lose('its key was deleted', undefined, 'key-deleted');
    } catch (error) {
      // Aborted by unlock/loss (expected), or the client closed: without a watch we cannot
      // vouch for the lock any more.
      if (!this.controller.signal.aborted) this.lose('its ownership watch ended', error, 'watch-ended');
    }
  }
}
