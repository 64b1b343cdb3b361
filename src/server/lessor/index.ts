export * from './lessor.js';
export * from './lease-id.js';
export * from './errors.js';
export type { Lease } from './lease.js';
