/** Typed errors of the lock recipes; `code` is what callers match on. */
import { ConclaveError } from '../base/index.js';

/** `lock({ timeoutMs })` ran out of time; the waiter's key was removed. */
export class LockTimeoutError extends ConclaveError {
  constructor(name: string, timeoutMs: number) {
    super('ERR_LOCK_TIMEOUT', `lock ${JSON.stringify(name)} not acquired within ${timeoutMs} ms`);
    this.name = 'LockTimeoutError';
  }
}

/** The session ended before or while waiting: whatever the wait reported, the lock is not held. */
export class SessionExpiredError extends ConclaveError {
  constructor(what: string, cause?: unknown) {
    super('ERR_SESSION_EXPIRED', `${what}: the session expired`, cause === undefined ? {} : { cause });
    this.name = 'SessionExpiredError';
  }
}

/** A held lock (or leadership) was lost: its key was deleted or its session ended. */
export class LockLostError extends ConclaveError {
  /** What ended the hold: 'session', 'key-deleted', 'watch-ended' or 'other'. */
  readonly lossCause: 'session' | 'key-deleted' | 'watch-ended' | 'other';

  constructor(key: string, why: string, cause?: unknown, lossCause: LockLostError['lossCause'] = 'other') {
    super('ERR_LOCK_LOST', `${key}: ${why}`, cause === undefined ? {} : { cause });
    this.name = 'LockLostError';
    this.lossCause = lossCause;
  }
}

/** A lock held with `maxHoldMs` reached its bound: the signal aborted and the lock was released. */
export class LockHoldExpiredError extends ConclaveError {
  readonly maxHoldMs: number;

  constructor(key: string, maxHoldMs: number) {
    super('ERR_LOCK_HOLD_EXPIRED', `${key}: held for its bound of ${maxHoldMs} ms; released`);
    this.name = 'LockHoldExpiredError';
    this.maxHoldMs = maxHoldMs;
  }
}

/** The reason a held lock's signal aborts on a normal unlock. */
export class LockReleasedError extends ConclaveError {
  constructor(key: string) {
    super('ERR_LOCK_RELEASED', `${key}: released by its holder`);
    this.name = 'LockReleasedError';
  }
}

/** A fencing token older than one already seen for the same resource. */
export class StaleTokenError extends ConclaveError {
  readonly resource: string;
  readonly token: bigint;
  readonly highest: bigint;

  constructor(resource: string, token: bigint, highest: bigint) {
    super('ERR_STALE_FENCING_TOKEN', `resource ${JSON.stringify(resource)}: token ${token} is older than ${highest}`);
    this.name = 'StaleTokenError';
    this.resource = resource;
    this.token = token;
    this.highest = highest;
  }
}
