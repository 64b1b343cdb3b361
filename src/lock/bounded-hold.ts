/**
 * Bounded holds: a lock taken with `maxHoldMs` is released when the bound passes, its signal
 * aborting with LockHoldExpiredError, so a holder stuck in a loop (alive, keeping its session)
 * cannot starve the queue. An optional warning fires `warnBeforeMs` earlier. Both timers run on
 * the given clock from the moment the grant is reported, and are cancelled when the lock goes
 * for any other reason. The bound is enforced by the holder's own process: a holder that is
 * paused (not just busy) does not release on time, but then its session lapses too.
 */
import { InvalidOptionError, requireInteger } from '../base/index.js';
import type { Clock } from '../base/index.js';
import { LockHoldExpiredError } from './errors.js';
import type { HeldLock } from './held-lock.js';

export interface ExpiryWarning {
  readonly key: string;
  readonly token: bigint;
  /** Time left before the release. */
  readonly remainingMs: number;
}

export interface BoundedHoldOptions {
  /** Release the lock this long after it was granted. */
  readonly maxHoldMs?: number;
  /** Call `onExpiryWarning` this long before the bound. Default: a tenth of maxHoldMs. */
  readonly warnBeforeMs?: number;
  readonly onExpiryWarning?: (warning: ExpiryWarning) => void;
}

/** Validates the options before any waiting starts. */
export function checkHoldOptions(options: BoundedHoldOptions): void {
  if (options.maxHoldMs === undefined) {
    if (options.warnBeforeMs !== undefined || options.onExpiryWarning !== undefined) {
      throw new InvalidOptionError('warnBeforeMs', 'needs maxHoldMs');
    }
    return;
  }
  const max = requireInteger('maxHoldMs', options.maxHoldMs, 1);
  if (options.warnBeforeMs !== undefined) requireInteger('warnBeforeMs', options.warnBeforeMs, 0, max);
  if (options.onExpiryWarning !== undefined && typeof options.onExpiryWarning !== 'function') {
    throw new InvalidOptionError('onExpiryWarning', 'must be a function');
  }
}

/** Arms the bound on a just-granted lock; returns the same lock. */
export function boundHold(held: HeldLock, options: BoundedHoldOptions, clock: Clock): HeldLock {
  if (options.maxHoldMs === undefined) return held;
  const maxHoldMs = options.maxHoldMs;
  const warnBeforeMs = options.warnBeforeMs ?? Math.floor(maxHoldMs / 10);
  const warn = options.onExpiryWarning;
  const cancelWarning = warn === undefined ? undefined : clock.setTimer(maxHoldMs - warnBeforeMs, () => {
    if (held.held) warn({ key: held.key, token: held.token, remainingMs: warnBeforeMs });
  });
  const cancelBound = clock.setTimer(maxHoldMs, () => {
    void held.release(new LockHoldExpiredError(held.key, maxHoldMs)).catch(() => {});
  });
  const onGone = (): void => {
    cancelWarning?.();
    cancelBound();
  };
  held.whenEnded(onGone);
  return held;
}
