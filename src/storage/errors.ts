import { ConclaveError } from '../base/errors.js';

/**
 * The typed errors of the storage layer. Codes are stable; messages name the file and the byte
 * offset so that an operator can find the damage with a hex dump.
 */

/** A WAL segment holds bytes that cannot be a torn tail: the member refuses to start. */
export class WalCorruptError extends ConclaveError {
  readonly file: string;
  readonly offset: number;

  constructor(file: string, offset: number, problem: string) {
    super('ERR_WAL_CORRUPT', `wal corrupt: ${file} at offset ${offset}: ${problem}`);
    this.name = 'WalCorruptError';
    this.file = file;
    this.offset = offset;
  }
}

/** A snapshot file failed its checksum or does not parse. The loader skips it and says so. */
export class SnapshotCorruptError extends ConclaveError {
  readonly file: string;

  constructor(file: string, problem: string) {
    super('ERR_SNAPSHOT_CORRUPT', `snapshot corrupt: ${file}: ${problem}`);
    this.name = 'SnapshotCorruptError';
    this.file = file;
  }
}

/**
 * The files on disk do not add up to a usable state (a snapshot the WAL needs is missing or
 * damaged, or the WAL does not reach back to any valid snapshot). The member refuses to start.
 */
export class StorageUnrecoverableError extends ConclaveError {
  constructor(dir: string, problem: string) {
    super('ERR_STORAGE_UNRECOVERABLE', `storage in ${dir} cannot be recovered: ${problem}`);
    this.name = 'StorageUnrecoverableError';
  }
}

/**
 * A write, fsync, rename or unlink failed. The storage layer stops for good: after a failed
 * fsync the kernel may already have dropped the dirty pages and marked them clean, so a retry
 * could "succeed" without the data (PostgreSQL's fsyncgate). The member must crash and recover
 * from what is on disk.
 */
export class StorageFatalError extends ConclaveError {
  readonly operation: string;
  readonly file: string;

  constructor(operation: string, file: string, cause: unknown) {
    const detail = cause instanceof Error ? `${(cause as NodeJS.ErrnoException).code ?? cause.name}: ${cause.message}` : String(cause);
    super('ERR_STORAGE_FATAL_IO', `fatal storage error: ${operation} ${file} failed (${detail}); the member must stop and recover from disk`, { cause });
    this.name = 'StorageFatalError';
    this.operation = operation;
    this.file = file;
  }
}

/** The storage was closed, or stopped after a fatal error; nothing more is accepted. */
export class StorageClosedError extends ConclaveError {
  constructor(reason: string, cause?: unknown) {
    super('ERR_STORAGE_CLOSED', `storage is closed: ${reason}`, { cause });
    this.name = 'StorageClosedError';
  }
}

/** Appends are refused because the bounded queue of pending WAL bytes is full. */
export class WalBackpressureError extends ConclaveError {
  constructor(pendingBytes: number, limitBytes: number) {
    super('ERR_WAL_BACKPRESSURE', `wal append queue is full (${pendingBytes} of ${limitBytes} bytes pending)`, { retryable: true });
    this.name = 'WalBackpressureError';
  }
}

/** A record or value is too large for a configured limit. */
export class RecordTooLargeError extends ConclaveError {
  constructor(what: string, bytes: number, limitBytes: number) {
    super('ERR_STORAGE_RECORD_TOO_LARGE', `${what} is ${bytes} bytes, over the limit of ${limitBytes}`);
    this.name = 'RecordTooLargeError';
  }
}

/** Bytes handed to a decoder do not parse (truncated, bad tag, out-of-range value). */
export class CodecError extends ConclaveError {
  constructor(what: string, problem: string) {
    super('ERR_STORAGE_CODEC', `cannot decode ${what}: ${problem}`);
    this.name = 'CodecError';
  }
}
