import type { MvccEvent } from './types.js';

export interface WatchOptions {
  readonly key: Uint8Array;
  /** etcd's conventions: absent/empty = the key only, [0] = every key >= key, else [key, rangeEnd). */
  readonly rangeEnd?: Uint8Array;
  /** First revision to deliver (inclusive); 0 or absent: only changes after now. */
  readonly startRevision?: number;
  /** NOPUT: drop put events. */
  readonly noPut?: boolean;
  /** NODELETE: drop delete events. */
  readonly noDelete?: boolean;
  readonly prevKv?: boolean;
  /** Receive the periodic empty responses sent by `WatchableStore.notifyProgress()`. */
  readonly progressNotify?: boolean;
  /** Allow a response larger than `maxResponseBytes` to be split into fragments. */
  readonly fragment?: boolean;
}

/**
 * One response for a watcher, ready for the server to put on the gRPC stream (which adds
 * the cluster/member/term header fields and maps `watcherId` to the stream's watch id).
 */
export interface WatchResponse {
  readonly watcherId: number;
  /**
   * Header revision: the revision of the change for a synced watcher, the current store
   * revision while catching up (clients resume from the last event's mod revision + 1),
   * 0 on a compaction cancel, the current revision on a progress notification.
   */
  readonly revision: number;
  readonly events: readonly MvccEvent[];
  /** Set with `canceled` when the watcher needs history that was compacted. */
  readonly compactRevision?: number;
  readonly canceled?: boolean;
  /** More fragments of the same response follow. */
  readonly fragment?: boolean;
  /** An empty progress notification (events is empty). */
  readonly progress?: boolean;
}

export type WatcherState = 'synced' | 'unsynced' | 'victim' | 'canceled';
