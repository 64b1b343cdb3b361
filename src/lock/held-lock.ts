/**
 * A held lock: its key, its fencing token (the key's create revision), and a signal that
 * aborts when the lock is lost (the session ended or the key was deleted by someone else) or
 * released. Shared by Mutex, RWMutex and Semaphore. The watch behind the signal starts when
 * the signal (or `held`) is first read, so a lock+unlock that never looks at it sends no watch.
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

/** How a held lock ended, as whenEnded() reports it. */
export interface LockEnd {
  /** The signal's abort reason (built on the first call). */
  reason(): unknown;
  /** True when the holder called unlock() (the reason is then a LockReleasedError). */
  readonly unlocked: boolean;
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
  /** Created when someone needs the signal (a reader, or the ownership watch). */
  private controller: AbortController | undefined;
  /**
   * Set once the lock is released or lost: the reason, built only when someone asks for it
   * (a plain unlock that nobody watches builds no error object, and captures no stack), and
   * whether it was a plain unlock().
   */
  private ended: { reason: () => unknown; unlocked: boolean } | undefined;
  private readonly client: Client;
  private readonly session: Session;
  private readonly releaseLocal: () => void;
  private readonly detachSession: () => void;
  private unlocking: Promise<void> | undefined;
  private watchStarted = false;
  /** Told once when the lock ends; unlike the signal, listening starts no watch. */
  private endListeners: ((end: LockEnd) => void)[] | undefined;

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
  }

  /**
   * Aborts when the lock is lost or released; its reason says which (ERR_LOCK_LOST / ERR_LOCK_RELEASED).
   * Reading it starts the watch on our key (from the confirming revision, so no deletion is
   * missed): a holder that never looks at the signal costs no watch, and no error object.
   * Read it when the lock is granted (hand it to the work it guards): a deletion that happened
   * before the first read is reported once the watch has caught up, one round trip later, and
   * a session loss at once.
   */
  get signal(): AbortSignal {
    const controller = this.signalController();
    if (this.ended !== undefined) {
      if (!controller.signal.aborted) controller.abort(this.ended.reason());
    } else {
      this.watchOwnKeyOnce();
    }
    return controller.signal;
  }

  /** True while the lock is believed held (no loss or release seen yet). */
  get held(): boolean {
    if (this.ended === undefined) this.watchOwnKeyOnce();
    return this.ended === undefined;
  }

  /**
   * Calls `listener` once with the end reason when the lock is released or lost (at once if it
   * already ended). For the library's own bookkeeping (telemetry, bounded holds): it starts no
   * ownership watch, so a deletion of the key by someone else is reported only once a reader
   * of `signal` or `held` started that watch.
   */
  onEnd(listener: (reason: unknown) => void): void {
    this.whenEnded((end) => listener(end.reason()));
  }

  /**
   * Like onEnd, but the reason is built only if the listener asks for it: the library's
   * per-cycle bookkeeping (telemetry, bounded holds) uses this, so that a lock+unlock costs no
   * error object. `unlocked` is true for a plain unlock() (reason: LockReleasedError).
   */
  whenEnded(listener: (end: LockEnd) => void): void {
    if (this.ended !== undefined) {
      listener(this.ended);
      return;
    }
    (this.endListeners ??= []).push(listener);
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
    return this.releaseWith(() => new LockReleasedError(this.key), true);
  }

  /**
   * Like unlock(), with `reason` as the signal's abort reason (a bounded hold passes
   * ERR_LOCK_HOLD_EXPIRED). Idempotent: the first reason wins.
   */
  release(reason: unknown): Promise<void> {
    return this.releaseWith(() => reason, false);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.unlock();
  }

  private releaseWith(makeReason: () => unknown, unlocked: boolean): Promise<void> {
    this.unlocking ??= (async () => {
      this.end(makeReason, unlocked);
      try {
        if (!this.session.lost) await this.client.deleteOwnKey(this.key);
      } finally {
        this.releaseLocal();
      }
    })();
    return this.unlocking;
  }

  private lose(why: string, cause: unknown, lossCause: LockLostError['lossCause']): void {
    this.end(() => new LockLostError(this.key, why, cause, lossCause), false);
  }

  private end(makeReason: () => unknown, unlocked: boolean): void {
    if (this.ended !== undefined) return;
    let reason: unknown;
    let made = false;
    this.ended = {
      reason: () => {
        if (!made) {
          reason = makeReason();
          made = true;
        }
        return reason;
      },
      unlocked,
    };
    this.detachSession();
    // Someone holds the signal (or the ownership watch runs on it): abort it now.
    if (this.controller !== undefined) this.controller.abort(this.ended.reason());
    const listeners = this.endListeners;
    this.endListeners = undefined;
    if (listeners !== undefined) for (const listener of listeners) listener(this.ended);
  }

  private signalController(): AbortController {
    this.controller ??= new AbortController();
    return this.controller;
  }

  private watchOwnKeyOnce(): void {
    if (this.watchStarted || this.ended !== undefined) return;
    this.watchStarted = true;
    void this.watchOwnKey(this.signalController().signal);
  }

  /** Watches our own key from the confirming revision: its deletion means the lock is gone. */
  private async watchOwnKey(signal: AbortSignal): Promise<void> {
    try {
      await waitForDelete(this.client, this.key, this.revision, signal, this.token);
      this.lose('its key was deleted', undefined, 'key-deleted');
    } catch (error) {
      // Aborted by unlock/loss (expected), or the client closed: without a watch we cannot
      // vouch for the lock any more.
      if (this.ended === undefined) this.lose('its ownership watch ended', error, 'watch-ended');
    }
  }
}
