import { InvalidOptionError } from '../base/errors.js';
import type { Logger } from '../base/logger.js';
import { silentLogger } from '../base/logger.js';
import { requireInteger } from '../base/validate.js';
import type { StorageFatalError } from './errors.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

/** Limits and hooks of the WAL and the snapshot files. Every field is optional. */
export interface StorageOptions {
  /** Size a WAL segment is pre-allocated to; a new segment is cut when a batch would not fit. Default 64 MiB. */
  readonly segmentBytes?: number;
  /** Largest payload of one WAL record (one raft entry); larger appends are refused. Default 16 MiB. */
  readonly maxRecordBytes?: number;
  /** Most bytes written (then fsynced) as one group-commit batch. Default 4 MiB. */
  readonly maxBatchBytes?: number;
  /** Most bytes queued for the WAL and not yet durable; beyond it appends fail with ERR_WAL_BACKPRESSURE. Default 64 MiB. */
  readonly maxPendingBytes?: number;
  /** Snapshot files kept (newest first); the WAL is kept back to the oldest of them. Default 2. */
  readonly snapshotsKept?: number;
  /** Largest snapshot file accepted when saving or loading. Default 1 GiB. */
  readonly maxSnapshotBytes?: number;
  /** Entries kept in memory behind a new snapshot, for slow followers. Default 5000. */
  readonly catchUpEntries?: number;
  /**
   * Called once when a write, fsync, rename or unlink fails. The storage has already stopped
   * accepting work; the handler must stop the member. Default: print the error and exit the
   * process with code 70, because continuing after a failed fsync risks serving lost writes.
   */
  readonly onFatal?: (error: StorageFatalError) => void;
  readonly logger?: Logger;
  /** Told how long each synced WAL append took, in seconds (the member's fsync metric). */
  readonly onWalSyncSeconds?: (seconds: number) => void;
}

export type ResolvedStorageOptions = Required<StorageOptions>;

/**
 * The largest record the reader accepts, whatever maxRecordBytes is now: lowering the option
 * must not make an existing WAL unreadable. Allocation stays bounded by the file size anyway.
 */
export const MAX_RECORD_BYTES_LIMIT = 512 * MiB;

/** The exit code of the default fatal handler (EX_SOFTWARE). */
export const FATAL_EXIT_CODE = 70;

export function exitOnFatal(error: StorageFatalError): void {
  process.stderr.write(`conclave: ${error.code}: ${error.message}\n`);
  process.exit(FATAL_EXIT_CODE);
}

export function resolveStorageOptions(options: StorageOptions = {}): ResolvedStorageOptions {
  const resolved: ResolvedStorageOptions = {
    segmentBytes: requireInteger('segmentBytes', options.segmentBytes ?? 64 * MiB, 4 * KiB, 4 * GiB),
    maxRecordBytes: requireInteger('maxRecordBytes', options.maxRecordBytes ?? 16 * MiB, 1 * KiB, MAX_RECORD_BYTES_LIMIT),
    maxBatchBytes: requireInteger('maxBatchBytes', options.maxBatchBytes ?? 4 * MiB, 4 * KiB, 1 * GiB),
    maxPendingBytes: requireInteger('maxPendingBytes', options.maxPendingBytes ?? 64 * MiB, 4 * KiB, 16 * GiB),
    snapshotsKept: requireInteger('snapshotsKept', options.snapshotsKept ?? 2, 1, 100),
    maxSnapshotBytes: requireInteger('maxSnapshotBytes', options.maxSnapshotBytes ?? 1 * GiB, 1 * KiB, 2 * GiB - 1),
    catchUpEntries: requireInteger('catchUpEntries', options.catchUpEntries ?? 5000, 0, 100_000_000),
    onFatal: options.onFatal ?? exitOnFatal,
    logger: options.logger ?? silentLogger,
    onWalSyncSeconds: options.onWalSyncSeconds ?? (() => undefined),
  };
  if (typeof resolved.onFatal !== 'function') throw new InvalidOptionError('onFatal', 'must be a function');
  if (resolved.maxPendingBytes < resolved.maxRecordBytes) {
    throw new InvalidOptionError('maxPendingBytes', `must be at least maxRecordBytes (${resolved.maxRecordBytes})`);
  }
  return resolved;
}
