/**
 * Errors on the wire: etcd's exact gRPC code and message for ServerError (src/server/errors.ts)
 * and EtcdRequestError (src/mvcc/errors.ts), both recognised by their `grpcCode` and
 * `grpcMessage` fields; a client's cancellation as Canceled; anything else as Unknown with
 * its text (what etcd does with errors it has no mapping for).
 */
import { Metadata, status } from '@grpc/grpc-js';
import type { ServiceError } from '@grpc/grpc-js';

interface WireIdentity {
  readonly grpcCode: number;
  readonly grpcMessage: string;
}

function hasWireIdentity(error: unknown): error is WireIdentity {
  if (typeof error !== 'object' || error === null) return false;
  const candidate = error as Partial<WireIdentity>;
  return typeof candidate.grpcCode === 'number' && typeof candidate.grpcMessage === 'string';
}

/** The gRPC status `error` answers with: `{ code, details }` as grpc-js sends them. */
export function toServiceError(error: unknown): Partial<ServiceError> & { code: status; details: string } {
  if (hasWireIdentity(error)) return wireError(error.grpcCode as status, error.grpcMessage);
  if (error instanceof Error && error.name === 'AbortError') return wireError(status.CANCELLED, error.message);
  const text = error instanceof Error ? error.message : String(error);
  return wireError(status.UNKNOWN, text);
}

function wireError(code: status, details: string): Partial<ServiceError> & { code: status; details: string } {
  return { code, details, message: details, metadata: new Metadata() };
}
