export * from './backend.js';
export * from './bytes.js';
export { crc32c, crc32cOfByteString } from '../crc32c.js';
export * from './errors.js';
export * from './sorted-map.js';
export * from './memory-backend.js';
export * from './lmdb-backend.js';
export * from './snapshot.js';
