/** Locks with fencing tokens, and the resource-side fencing helper. */
export { Mutex } from './mutex.js';
export type { LockOptions, MutexOptions } from './mutex.js';
export type { HandoffInfo } from './lock-delay.js';
export type { BoundedHoldOptions, ExpiryWarning } from './bounded-hold.js';
export { HeldLock } from './held-lock.js';
export type { HeldLockInit, LockEnd } from './held-lock.js';
export { FencingGuard } from './fencing.js';
export type { FencingGuardOptions } from './fencing.js';
export { LockTimeoutError, SessionExpiredError, LockLostError, LockReleasedError, LockHoldExpiredError, StaleTokenError } from './errors.js';
export { waitForDelete, waitForPredecessors, raceSignal, OwnKeyGuard } from './wait.js';
export { acquireLocal, isLocallyBusy } from './local-queue.js';
export { abortOnDelete } from './wait.js';
export { RWMutex } from './rwmutex.js';
export { startCycle, trackHold } from './cycle.js';
export { Semaphore } from './semaphore.js';
export type { LockEntry, LockHolder, LockSnapshot } from './introspect.js';
