/** Transactions (STM) and counters over etcd's txn. */
export { stm, stmWithResult } from './stm.js';
export type { StmIsolation, StmOptions, StmTx, StmResult } from './stm.js';
export { Counter } from './counter.js';
export type { CounterOptions } from './counter.js';
export { StmConflictError, CounterValueError } from './errors.js';
