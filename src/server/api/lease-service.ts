/**
 * The Lease service. Grant and Revoke go through raft (a grant with ID 0 gets its id from the
 * member before proposing, as etcd's server does); KeepAlive is a stream answered in request
 * order, renewing on the leader through the port, with TTL 0 (not an error) for an unknown
 * lease; TimeToLive answers TTL -1 for an unknown lease; Leases lists the local lessor.
 */
import { create } from '@bufbuild/protobuf';
import type { ServerDuplexStream } from '@grpc/grpc-js';
import {
  Lease, LeaseGrantResponseSchema, LeaseKeepAliveResponseSchema, LeaseLeasesResponseSchema, LeaseRevokeResponseSchema,
  LeaseStatusSchema, LeaseTimeToLiveResponseSchema,
} from '../../gen/etcdserverpb/rpc_pb.js';
import type * as pb from '../../gen/etcdserverpb/rpc_pb.js';
import { toServiceError } from './grpc-status.js';
import { responseHeader } from './header.js';
import type { ApiLimits } from './kv-service.js';
import type { ServerPort } from './ports.js';
import { propose } from './proposal.js';
import { bindService, type ServiceBinding } from './service-definition.js';
import { callSignal, type StreamTracker, unary, writeMessage } from './unary.js';
import { authorizeLeaseKeys } from '../auth/enforce.js';

const LEASE_NOT_FOUND_TEXT = 'etcdserver: requested lease not found';

function isLeaseNotFound(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { grpcMessage?: unknown }).grpcMessage === LEASE_NOT_FOUND_TEXT;
}

export function leaseService(port: ServerPort, limits: ApiLimits, tracker: StreamTracker): ServiceBinding {
  const leaseKeepAlive = (call: ServerDuplexStream<pb.LeaseKeepAliveRequest, pb.LeaseKeepAliveResponse>): void => {
    if (!tracker.track(call)) return;
    const signal = callSignal(call);
    void (async () => {
      try {
        // One request at a time: the next is read only after this one's answer was written.
        for await (const req of call as AsyncIterable<pb.LeaseKeepAliveRequest>) {
          // etcd fills the header before renewing, so its revision is at most the renew point.
          const header = responseHeader(port);
          let ttlSeconds: number;
          try {
            ttlSeconds = await port.renewLease(req.ID, signal);
          } catch (error) {
            if (!isLeaseNotFound(error)) throw error;
            ttlSeconds = 0;
          }
          if (signal.aborted) return;
          await writeMessage(call, create(LeaseKeepAliveResponseSchema, { header, ID: req.ID, TTL: BigInt(ttlSeconds) }));
        }
        // The client half-closed: etcd's stream ends with it.
        call.end();
      } catch (error) {
        if (!signal.aborted) call.emit('error', toServiceError(error));
      }
    })();
  };

  return bindService(Lease, {
    leaseGrant: unary<pb.LeaseGrantRequest, pb.LeaseGrantResponse>(async (req, { signal, caller }) => {
      const granted = (await propose(port, { case: 'leaseGrant', value: req }, { ...limits, signal, caller })) as { id: bigint; ttlSeconds: number };
      return create(LeaseGrantResponseSchema, { header: responseHeader(port), ID: granted.id, TTL: BigInt(granted.ttlSeconds) });
    }),

    leaseRevoke: unary<pb.LeaseRevokeRequest, pb.LeaseRevokeResponse>(async (req, { signal, caller }) => {
      await propose(port, { case: 'leaseRevoke', value: req }, { ...limits, signal, caller });
      return create(LeaseRevokeResponseSchema, { header: responseHeader(port) });
    }),

    leaseKeepAlive,

    leaseTimeToLive: unary<pb.LeaseTimeToLiveRequest, pb.LeaseTimeToLiveResponse>(async (req, { signal, caller }) => {
      const header = responseHeader(port);
      try {
        const ttl = await port.leaseTimeToLive(req.ID, req.keys, signal);
        if (port.auth !== undefined) authorizeLeaseKeys(port.auth, caller, ttl.keys);
        return create(LeaseTimeToLiveResponseSchema, {
          header,
          ID: req.ID,
          TTL: BigInt(ttl.ttlSeconds),
          grantedTTL: BigInt(ttl.grantedTtlSeconds),
          keys: ttl.keys,
        });
      } catch (error) {
        if (!isLeaseNotFound(error)) throw error;
        return create(LeaseTimeToLiveResponseSchema, { header, ID: req.ID, TTL: -1n });
      }
    }),

    leaseLeases: unary<pb.LeaseLeasesRequest, pb.LeaseLeasesResponse>(() =>
      Promise.resolve(create(LeaseLeasesResponseSchema, {
        header: responseHeader(port),
        leases: port.lessor.leases().map((id) => create(LeaseStatusSchema, { ID: id })),
      })),
    ),
  });
}
