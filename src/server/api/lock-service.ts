/**
 * The v3lock service, run as etcd's server runs it (a Mutex on a session over the caller's
 * lease, without keep-alives): Lock creates `<name>/<lease hex>` (or finds it: locking twice
 * with one lease keeps its place), waits for every older key under `<name>/` to go, and
 * returns the key; a Lock abandoned while waiting deletes its key. Unlock deletes the key.
 */
import { create } from '@bufbuild/protobuf';
import { Lock, LockResponseSchema, UnlockResponseSchema } from '../../gen/v3lockpb/v3lock_pb.js';
import type * as lockpb from '../../gen/v3lockpb/v3lock_pb.js';
import { responseHeader } from './header.js';
import type { ApiLimits } from './kv-service.js';
import type { ServerPort } from './ports.js';
import { detached, Recipes, recipeKey, withSlash } from './recipe.js';
import { bindService, type ServiceBinding } from './service-definition.js';
import { unary } from './unary.js';

export function lockService(port: ServerPort, limits: ApiLimits): ServiceBinding {
  const recipes = new Recipes(port, limits);
  return bindService(Lock, {
    lock: unary<lockpb.LockRequest, lockpb.LockResponse>(async (req, call) => {
      const { signal } = call;
      const lease = await recipes.sessionLease(req.lease, call);
      const key = recipeKey(req.name, lease);
      const { txn, createRevision } = await recipes.createOrGet(key, new Uint8Array(0), lease, call);
      let headerRevision = txn.revision;
      try {
        const waited = await recipes.waitDeletes(withSlash(req.name), createRevision - 1, signal);
        // etcd answers with the txn's header on the fast path and the last wait read's otherwise.
        if (waited.waited) headerRevision = waited.revision;
      } catch (error) {
        // Give the place up (with a signal of its own: the call's may be what aborted).
        await recipes.delete(key, detached(call)).catch(() => undefined);
        throw error;
      }
      return create(LockResponseSchema, { header: responseHeader(port, headerRevision), key });
    }),

    unlock: unary<lockpb.UnlockRequest, lockpb.UnlockResponse>(async (req, call) => {
      const revision = await recipes.delete(req.key, call);
      return create(UnlockResponseSchema, { header: responseHeader(port, revision) });
    }),
  });
}
