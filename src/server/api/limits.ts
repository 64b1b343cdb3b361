/**
 * Request limits, as etcd enforces them: a proposal larger than `maxRequestBytes` is refused
 * with "etcdserver: request is too large" before it reaches raft, and gRPC itself refuses
 * messages above `maxRequestBytes` + 512 KiB (the receive limit etcd configures).
 */
import { create, toBinary } from '@bufbuild/protobuf';
import { requireInteger } from '../../base/validate.js';
import { RaftRequestSchema } from '../../gen/conclave/internal_pb.js';
import { serverError } from '../errors.js';
import type { ProposalRequest } from './ports.js';

/** etcd's default --max-request-bytes: 1.5 MiB. */
export const DEFAULT_MAX_REQUEST_BYTES = 1.5 * 1024 * 1024;
/** What etcd adds to max-request-bytes for gRPC's receive limit. */
export const GRPC_OVERHEAD_BYTES = 512 * 1024;

export function validateMaxRequestBytes(value: number): number {
  return requireInteger('maxRequestBytes', value, 1, 1024 * 1024 * 1024);
}

/** The gRPC receive limit for a member with `maxRequestBytes`. */
export function grpcMaxReceiveBytes(maxRequestBytes: number): number {
  return maxRequestBytes + GRPC_OVERHEAD_BYTES;
}

/** The largest request id the member may put in front of a request (worst case for its size). */
const WIDEST_ID = (1n << 64n) - 1n;

/**
 * Throws etcd's "request is too large" if `request`, as the member will put it in a raft
 * entry, exceeds `maxRequestBytes` (etcd measures the marshalled internal request the same way).
 */
export function checkProposalSize(request: ProposalRequest, maxRequestBytes: number): void {
  const bytes = toBinary(RaftRequestSchema, create(RaftRequestSchema, { id: WIDEST_ID, request })).length;
  if (bytes > maxRequestBytes) throw serverError('requestTooLarge');
}
