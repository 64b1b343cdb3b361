/**
 * The applier's side of auth: the apply-time permission check of a KV write or lease revoke
 * (against the store as it stands at the entry's index: a permission revoked, or any auth
 * change, while the proposal was in flight is enforced), and applying an auth change with
 * the store written to the meta bucket in the same atomic write as the entry's index.
 */
import type { RaftRequest } from '../../gen/conclave/internal_pb.js';
import type { AppliedPosition, MvccStore } from '../../mvcc/index.js';
import { ServerError } from '../errors.js';
import { checkAtApply } from './enforce.js';
import { AUTH_STATE_KEY } from './store.js';
import type { AuthApplyResult, AuthStore } from './store.js';

type Outcome = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: Error };

/** etcd's refusal for a client's write at apply time, or undefined to go ahead. */
export function refusalAtApply(auth: AuthStore | undefined, message: RaftRequest, leaseKeys: (id: bigint) => readonly Uint8Array[]): Error | undefined {
  if (auth === undefined || !auth.enabled || message.internal) return undefined;
  try {
    checkAtApply(auth, { username: message.username, revision: message.authRevision }, message.request, leaseKeys);
    return undefined;
  } catch (error) {
    if (error instanceof ServerError) return error;
    throw error;
  }
}

/** Applies an auth change entry; undefined when the entry was applied before (a replay). */
export function applyAuthChange(auth: AuthStore, store: MvccStore, position: AppliedPosition, message: RaftRequest): Outcome | undefined {
  if (message.request.case !== 'auth') return undefined;
  const change = message.request.value.change;
  const info = message.internal ? undefined : { username: message.username, revision: message.authRevision };
  const result = store.applyWith(position, (txn): Outcome => {
    let value: AuthApplyResult;
    try {
      value = auth.apply(change, info, position.index);
    } catch (error) {
      if (error instanceof ServerError) return { ok: false, error };
      throw error;
    }
    txn.writeAux({ bucket: 'meta', key: AUTH_STATE_KEY, value: auth.encode() });
    return { ok: true, value };
  });
  if (result.kind === 'already-applied') return undefined;
  if (result.kind === 'error') return { ok: false, error: result.error };
  return result.value;
}
