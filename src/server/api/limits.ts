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
 * Protobuf overhead allowed per field in the estimate: a tag (at most 2 bytes here) plus a
 * length or varint (at most 10 bytes), rounded up generously.
 */
const FIELD_BYTES = 16;

type Op = { readonly request: { readonly case?: string | undefined; readonly value?: unknown } };

/**
 * An upper bound of the encoded size of `request`, cheap to compute: byte fields counted
 * whole, every other field (and every nesting level) as FIELD_BYTES. Used to skip the exact
 * encoding for the common request that is far below the limit.
 */
export function estimateProposalBytes(request: ProposalRequest): number {
  const base = 2 * FIELD_BYTES; // the request id and the oneof wrapper
  switch (request.case) {
    case 'put':
      return base + putBytes(request.value);
    case 'deleteRange':
      return base + 4 * FIELD_BYTES + request.value.key.length + request.value.rangeEnd.length;
    case 'txn':
      return base + txnBytes(request.value);
    default:
      return Infinity; // rare requests: measure exactly
  }
}

function putBytes(put: { key: Uint8Array; value: Uint8Array }): number {
  return 7 * FIELD_BYTES + put.key.length + put.value.length;
}

function txnBytes(txn: { compare: ReadonlyArray<{ key: Uint8Array; rangeEnd: Uint8Array; targetUnion: { case?: string | undefined; value?: unknown } }>; success: readonly Op[]; failure: readonly Op[] }): number {
  let bytes = FIELD_BYTES;
  for (const c of txn.compare) {
    const value = c.targetUnion.case === 'value' ? (c.targetUnion.value as Uint8Array).length : 0;
    bytes += 7 * FIELD_BYTES + c.key.length + c.rangeEnd.length + value;
  }
  for (const op of [...txn.success, ...txn.failure]) {
    const { case: kind, value } = op.request;
    bytes += 2 * FIELD_BYTES;
    if (kind === 'requestPut') bytes += putBytes(value as { key: Uint8Array; value: Uint8Array });
    else if (kind === 'requestTxn') bytes += txnBytes(value as Parameters<typeof txnBytes>[0]);
    else if (kind === 'requestRange' || kind === 'requestDeleteRange') {
      const range = value as { key: Uint8Array; rangeEnd: Uint8Array };
      bytes += 14 * FIELD_BYTES + range.key.length + range.rangeEnd.length;
    }
  }
  return bytes;
}

/**
 * Throws etcd's "request is too large" if `request`, as the member will put it in a raft
 * entry, exceeds `maxRequestBytes` (etcd measures the marshalled internal request the same
 * way). The exact encoding runs only when the cheap upper bound is above the limit.
 */
export function checkProposalSize(request: ProposalRequest, maxRequestBytes: number): void {
  if (estimateProposalBytes(request) <= maxRequestBytes) return;
  const bytes = toBinary(RaftRequestSchema, create(RaftRequestSchema, { id: WIDEST_ID, request })).length;
  if (bytes > maxRequestBytes) throw serverError('requestTooLarge');
}
