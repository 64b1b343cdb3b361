/** Leases and sessions: liveness as an AbortSignal. */
export { Lease } from './lease.js';
export type { LeaseOptions } from './lease.js';
export { Session } from './session.js';
export type { SessionOptions } from './session.js';
