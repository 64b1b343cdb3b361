import { ConclaveError } from '../../base/errors.js';

/** A backend used after close(). */
export class BackendClosedError extends ConclaveError {
  constructor(engine: string) {
    super('ERR_BACKEND_CLOSED', `${engine} backend is closed`);
    this.name = 'BackendClosedError';
  }
}

/** A snapshot byte stream that is truncated, malformed or fails its checksum. */
export class SnapshotCorruptError extends ConclaveError {
  constructor(detail: string) {
    super('ERR_BACKEND_SNAPSHOT_CORRUPT', `backend snapshot is corrupt: ${detail}`);
    this.name = 'SnapshotCorruptError';
  }
}
