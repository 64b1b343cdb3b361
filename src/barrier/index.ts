/** Barriers: a single barrier (hold, release, wait) and a double barrier (enter, leave). */
export { Barrier } from './barrier.js';
export { DoubleBarrier } from './double-barrier.js';
export { BarrierError } from './errors.js';
