import type { Backend } from '../storage/backend/backend.js';
import type { ByteString } from '../storage/backend/bytes.js';
import type { SortedMap } from '../storage/backend/sorted-map.js';
import type { KeyIndex } from './key-index.js';
import type { AppliedPosition, KeyValue, MvccEvent } from './types.js';

/**
 * What the KV store needs from the lessor (declared here, implemented in server/lessor):
 * existence checks for puts, and attach/detach as keys gain or lose a lease.
 */
export interface LeaseHooks {
  exists(lease: bigint): boolean;
  attach(lease: bigint, key: ByteString): void;
  detach(lease: bigint, key: ByteString): void;
}

/** Told about every committed write (for the watchable store). Must not throw or call back into writes. */
export interface CommitListener {
  onCommit(revision: number, events: readonly MvccEvent[]): void;
  onCompact(compactRevision: number): void;
  /** The whole state was replaced (a snapshot installed); `previousRevision` is the revision before. */
  onReload?(previousRevision: number): void;
}

/**
 * The mutable state of one MvccStore, shared only with the ApplyTxn objects the store
 * creates (outsiders see the store's read-only getters).
 */
export interface StoreState {
  readonly backend: Backend;
  readonly index: SortedMap<KeyIndex>;
  readonly listeners: CommitListener[];
  readonly maxTxnOps: number;
  currentRev: number;
  compactRev: number;
  applied: AppliedPosition;
  leases: LeaseHooks | undefined;
  readKv(main: number, sub: number): KeyValue;
}
