/**
 * Conclave's Raft: a pure, deterministic consensus state machine driven by tick() and step(),
 * producing one Ready at a time (see raw-node.ts for the contract).
 */
export * from './types.js';
export * from './errors.js';
export * from './storage.js';
export * from './config.js';
export * from './bootstrap.js';
export { RawNode, StepRejectedError } from './raw-node.js';
export type { Ready, RaftStatus, ProgressStatus } from './raw-node.js';
export { encodeConfChange, decodeConfChange, ConfChangeDecodeError, MAX_CONF_CHANGES } from './confchange/codec.js';
export { ConfChangeError } from './confchange/changer.js';
export * from './describe.js';
