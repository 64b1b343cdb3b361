/**
 * Proposing through the port: the size limit first (etcd refuses before raft), then the
 * proposal, then the apply outcome unwrapped. The member resolves KV proposals with mvcc's
 * ApplyResult; an error result is etcd's request error and is thrown as such.
 */
import type { EtcdRequestError } from '../../mvcc/errors.js';
import type { CallIdentity } from '../auth/caller.js';
import type { ResponseOp } from '../../mvcc/types.js';
import { checkProposalSize } from './limits.js';
import type { ProposalRequest, ServerPort } from './ports.js';

export interface ProposeOptions {
  readonly maxRequestBytes: number;
  readonly signal?: AbortSignal;
  /** Who the proposal is made for (the call's CallContext.caller); undefined: the member itself. */
  readonly caller?: CallIdentity | undefined;
}

type ApplyOutcome =
  | { readonly kind: 'ok'; readonly response: unknown }
  | { readonly kind: 'error'; readonly error: EtcdRequestError }
  | { readonly kind: 'already-applied' };

function isApplyOutcome(value: unknown): value is ApplyOutcome {
  return typeof value === 'object' && value !== null && 'kind' in value && typeof (value as { kind: unknown }).kind === 'string';
}

/** Proposes `request` and returns what applying it produced (an ApplyResult is unwrapped). */
export async function propose(port: ServerPort, request: ProposalRequest, options: ProposeOptions): Promise<unknown> {
  checkProposalSize(request, options.maxRequestBytes);
  const result = await port.propose(request, options.signal, options.caller);
  if (!isApplyOutcome(result)) return result;
  if (result.kind === 'ok') return result.response;
  if (result.kind === 'error') throw result.error;
  // The member applied this entry before (a replay); it has no response to give.
  throw new Error('proposal was already applied and has no result');
}

/** A KV write's response op (put, deleteRange, txn). */
export async function proposeKv(port: ServerPort, request: ProposalRequest, options: ProposeOptions): Promise<ResponseOp> {
  return (await propose(port, request, options)) as ResponseOp;
}
