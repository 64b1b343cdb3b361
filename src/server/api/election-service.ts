/**
 * The v3election service, run as etcd's server runs it (an Election on a session over the
 * caller's lease): Campaign creates `<name>/<lease hex>` with the value (or proclaims the new
 * value on the key it already has) and waits until every older candidate is gone; Proclaim
 * and Resign act only while the leader key still has its create revision; Leader reads the
 * oldest key; Observe streams the leader and each proclamation, then the next leader after
 * a resignation. Its errors are etcd's plain ones, which reach the wire as Unknown.
 */
import { create } from '@bufbuild/protobuf';
import { ConclaveError } from '../../base/errors.js';
import {
  CampaignResponseSchema, Election, LeaderKeySchema, LeaderResponseSchema, ProclaimResponseSchema, ResignResponseSchema,
} from '../../gen/v3electionpb/v3election_pb.js';
import type * as epb from '../../gen/v3electionpb/v3election_pb.js';
import type { KeyValue } from '../../mvcc/types.js';
import { keyValueToPb } from './convert.js';
import { responseHeader } from './header.js';
import type { ApiLimits } from './kv-service.js';
import type { ServerPort } from './ports.js';
import { detached, prefixEnd, Recipes, recipeKey, withSlash } from './recipe.js';
import { bindService, type ServiceBinding } from './service-definition.js';
import { serverStream, type StreamTracker, unary } from './unary.js';

/** etcd's election errors (plain Go errors there: gRPC Unknown with this text). */
export class ElectionError extends ConclaveError {
  constructor(code: string, message: string) {
    super(code, message);
    this.name = 'ElectionError';
  }
}
const notLeader = (): ElectionError => new ElectionError('ERR_ELECTION_NOT_LEADER', 'election: not leader');
const noLeader = (): ElectionError => new ElectionError('ERR_ELECTION_NO_LEADER', 'election: no leader');
const missingLeader = (): ElectionError => new ElectionError('ERR_ELECTION_MISSING_LEADER', '"leader" field must be provided');

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);
}

export function electionService(port: ServerPort, limits: ApiLimits, tracker: StreamTracker): ServiceBinding {
  const recipes = new Recipes(port, limits);

  const observe = serverStream<epb.LeaderRequest, epb.LeaderResponse>(async (req, send, { signal }) => {
    const prefix = withSlash(req.name);
    const emit = (revision: number, kv: KeyValue): Promise<void> =>
      send(create(LeaderResponseSchema, { header: responseHeader(port, revision), kv: keyValueToPb(kv) }));
    for (;;) {
      let { kv, revision } = await recipes.first(prefix, signal);
      if (kv === undefined) {
        // No leader: wait for the first put under the prefix.
        const watcher = recipes.watch(prefix, prefixEnd(prefix), revision + 1);
        try {
          while (kv === undefined) {
            const response = await watcher.next(signal);
            if (response === undefined || response.canceled) return;
            const put = response.events.find((event) => event.type === 'put');
            if (put !== undefined) {
              kv = put.kv;
              revision = put.kv.modRevision;
            }
          }
        } finally {
          watcher.cancel();
        }
      }
      await emit(revision, kv);
      // Follow the leader key: each put is a proclamation, a delete ends this leader.
      const watcher = recipes.watch(kv.key, undefined, revision + 1);
      try {
        let deleted = false;
        while (!deleted) {
          const response = await watcher.next(signal);
          if (response === undefined || response.canceled) return;
          for (const event of response.events) {
            if (event.type === 'delete') {
              deleted = true;
              break;
            }
            await emit(response.revision, event.kv);
          }
        }
      } finally {
        watcher.cancel();
      }
    }
  }, tracker);

  return bindService(Election, {
    campaign: unary<epb.CampaignRequest, epb.CampaignResponse>(async (req, call) => {
      const { signal } = call;
      const lease = await recipes.sessionLease(req.lease, call);
      const key = recipeKey(req.name, lease);
      const { txn, createRevision, existing } = await recipes.createOrGet(key, req.value, lease, call);
      if (existing !== undefined && !sameBytes(existing.value, req.value)) {
        const proclaimed = await recipes.putIfOwner(key, createRevision, req.value, lease, call);
        if (!proclaimed.succeeded) {
          await recipes.deleteIfOwner(key, createRevision, detached(call)).catch(() => undefined);
          throw notLeader();
        }
      }
      try {
        await recipes.waitDeletes(withSlash(req.name), createRevision - 1, signal);
      } catch (error) {
        // A campaign given up while waiting resigns (etcd does so when its context ends).
        if (signal.aborted) await recipes.deleteIfOwner(key, createRevision, detached(call)).catch(() => undefined);
        throw error;
      }
      return create(CampaignResponseSchema, {
        header: responseHeader(port, txn.revision),
        leader: create(LeaderKeySchema, { name: req.name, key, rev: BigInt(createRevision), lease }),
      });
    }),

    proclaim: unary<epb.ProclaimRequest, epb.ProclaimResponse>(async (req, call) => {
      const leader = req.leader;
      if (leader === undefined) throw missingLeader();
      const txn = await recipes.putIfOwner(leader.key, Number(leader.rev), req.value, leader.lease, call);
      if (!txn.succeeded) throw notLeader();
      return create(ProclaimResponseSchema, { header: responseHeader(port, txn.revision) });
    }),

    leader: unary<epb.LeaderRequest, epb.LeaderResponse>(async (req, { signal }) => {
      const { kv, revision } = await recipes.first(withSlash(req.name), signal);
      if (kv === undefined) throw noLeader();
      return create(LeaderResponseSchema, { header: responseHeader(port, revision), kv: keyValueToPb(kv) });
    }),

    observe,

    resign: unary<epb.ResignRequest, epb.ResignResponse>(async (req, call) => {
      const leader = req.leader;
      if (leader === undefined) throw missingLeader();
      const txn = await recipes.deleteIfOwner(leader.key, Number(leader.rev), call);
      return create(ResignResponseSchema, { header: responseHeader(port, txn.revision) });
    }),
  });
}
