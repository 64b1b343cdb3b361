import { ConclaveError } from '../base/errors.js';

/** gRPC status codes the server maps these errors to (numbers as in grpc's status.proto). */
export const GrpcCode = {
  InvalidArgument: 3,
  NotFound: 5,
  FailedPrecondition: 9,
  OutOfRange: 11,
} as const;
export type GrpcCode = (typeof GrpcCode)[keyof typeof GrpcCode];

/**
 * An error with etcd's wire identity: `grpcCode` plus `grpcMessage`, the exact text etcd
 * sends (clients match on it, see etcd's rpctypes). `message` equals `grpcMessage`; `code`
 * is our stable code. Thrown for bad requests; a failed apply leaves no state change.
 */
export class EtcdRequestError extends ConclaveError {
  readonly grpcCode: GrpcCode;
  readonly grpcMessage: string;

  constructor(code: string, grpcCode: GrpcCode, grpcMessage: string) {
    super(code, grpcMessage);
    this.name = 'EtcdRequestError';
    this.grpcCode = grpcCode;
    this.grpcMessage = grpcMessage;
  }
}

/** The plain mvcc texts; the watch stream uses them without the `etcdserver: ` prefix. */
export const MVCC_COMPACTED_TEXT = 'mvcc: required revision has been compacted';
export const MVCC_FUTURE_REV_TEXT = 'mvcc: required revision is a future revision';
export const WATCH_RANGE_EMPTY_TEXT = 'mvcc: watcher range is empty';

export class CompactedError extends EtcdRequestError {
  constructor(readonly compactRevision: number) {
    super('ERR_MVCC_COMPACTED', GrpcCode.OutOfRange, `etcdserver: ${MVCC_COMPACTED_TEXT}`);
    this.name = 'CompactedError';
  }
}

export class FutureRevisionError extends EtcdRequestError {
  constructor(readonly currentRevision: number) {
    super('ERR_MVCC_FUTURE_REVISION', GrpcCode.OutOfRange, `etcdserver: ${MVCC_FUTURE_REV_TEXT}`);
    this.name = 'FutureRevisionError';
  }
}

export class EmptyKeyError extends EtcdRequestError {
  constructor() {
    super('ERR_EMPTY_KEY', GrpcCode.InvalidArgument, 'etcdserver: key is not provided');
    this.name = 'EmptyKeyError';
  }
}

export class KeyNotFoundError extends EtcdRequestError {
  constructor() {
    super('ERR_KEY_NOT_FOUND', GrpcCode.InvalidArgument, 'etcdserver: key not found');
    this.name = 'KeyNotFoundError';
  }
}

export class ValueProvidedError extends EtcdRequestError {
  constructor() {
    super('ERR_VALUE_PROVIDED', GrpcCode.InvalidArgument, 'etcdserver: value is provided');
    this.name = 'ValueProvidedError';
  }
}

export class LeaseProvidedError extends EtcdRequestError {
  constructor() {
    super('ERR_LEASE_PROVIDED', GrpcCode.InvalidArgument, 'etcdserver: lease is provided');
    this.name = 'LeaseProvidedError';
  }
}

export class TooManyOpsError extends EtcdRequestError {
  constructor() {
    super('ERR_TOO_MANY_OPS', GrpcCode.InvalidArgument, 'etcdserver: too many operations in txn request');
    this.name = 'TooManyOpsError';
  }
}

export class DuplicateKeyError extends EtcdRequestError {
  constructor() {
    super('ERR_DUPLICATE_KEY', GrpcCode.InvalidArgument, 'etcdserver: duplicate key given in txn request');
    this.name = 'DuplicateKeyError';
  }
}

export class InvalidSortOptionError extends EtcdRequestError {
  constructor() {
    super('ERR_INVALID_SORT_OPTION', GrpcCode.InvalidArgument, 'etcdserver: invalid sort option');
    this.name = 'InvalidSortOptionError';
  }
}

export class LeaseNotFoundError extends EtcdRequestError {
  constructor() {
    super('ERR_LEASE_NOT_FOUND', GrpcCode.NotFound, 'etcdserver: requested lease not found');
    this.name = 'LeaseNotFoundError';
  }
}

export class LeaseExistsError extends EtcdRequestError {
  constructor() {
    super('ERR_LEASE_EXISTS', GrpcCode.FailedPrecondition, 'etcdserver: lease already exists');
    this.name = 'LeaseExistsError';
  }
}

export class LeaseTtlTooLargeError extends EtcdRequestError {
  constructor() {
    super('ERR_LEASE_TTL_TOO_LARGE', GrpcCode.OutOfRange, 'etcdserver: too large lease TTL');
    this.name = 'LeaseTtlTooLargeError';
  }
}

/** A request that breaks an invariant the server should have validated (not an etcd wire error). */
export class InvalidRequestError extends ConclaveError {
  constructor(detail: string) {
    super('ERR_MVCC_INVALID_REQUEST', `invalid mvcc request: ${detail}`);
    this.name = 'InvalidRequestError';
  }
}
