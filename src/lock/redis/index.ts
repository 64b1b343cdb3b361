/** `conclave/redis`: a Redis lock with the same held-lock shape as the Raft-backed Mutex. */
export { RedisMutex, RedisHeldLock } from './redis-mutex.js';
export type { RedisMutexOptions, RedisLockOptions } from './redis-mutex.js';
export { LockTimeoutError, LockLostError, LockReleasedError, StaleTokenError } from '../errors.js';
export { FencingGuard } from '../fencing.js';
