import { ConclaveError } from '../base/errors.js';

/** Storage.entries/term: the requested index is below the first index (compacted away). */
export class LogCompactedError extends ConclaveError {
  constructor(index: number, firstIndex: number) {
    super('ERR_RAFT_COMPACTED', `raft log index ${index} is compacted (first index ${firstIndex})`);
    this.name = 'LogCompactedError';
  }
}

/** Storage.entries/term: the requested index is beyond the last index. */
export class LogUnavailableError extends ConclaveError {
  constructor(index: number, lastIndex: number) {
    super('ERR_RAFT_UNAVAILABLE', `raft log index ${index} is unavailable (last index ${lastIndex})`);
    this.name = 'LogUnavailableError';
  }
}

/** Storage.snapshot: a snapshot is being made; Raft retries later instead of failing. */
export class SnapshotTemporarilyUnavailableError extends ConclaveError {
  constructor() {
    super('ERR_RAFT_SNAPSHOT_TEMPORARILY_UNAVAILABLE', 'snapshot is temporarily unavailable', { retryable: true });
    this.name = 'SnapshotTemporarilyUnavailableError';
  }
}

/** Storage.applySnapshot/createSnapshot/compact: the snapshot or index is older than what is stored. */
export class SnapshotOutOfDateError extends ConclaveError {
  constructor(index: number, current: number) {
    super('ERR_RAFT_SNAPSHOT_OUT_OF_DATE', `snapshot at index ${index} is older than the current one at ${current}`);
    this.name = 'SnapshotOutOfDateError';
  }
}

/** A proposal was refused: no leader known, leadership transfer in progress, or a limit was hit. */
export class ProposalDroppedError extends ConclaveError {
  constructor(reason: string) {
    super('ERR_RAFT_PROPOSAL_DROPPED', `raft proposal dropped: ${reason}`, { retryable: true });
    this.name = 'ProposalDroppedError';
  }
}

/** A Config value failed validation. */
export class RaftConfigError extends ConclaveError {
  constructor(field: string, problem: string) {
    super('ERR_RAFT_CONFIG', `raft config ${field}: ${problem}`);
    this.name = 'RaftConfigError';
  }
}
