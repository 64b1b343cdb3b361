/**
 * The Maintenance service: Alarm (every action through raft, as etcd 3.4 does), Status,
 * Defragment, Hash (CRC-32C over the whole backend), HashKV, Snapshot (the backend's
 * snapshot stream in 32 KiB pieces with remaining_bytes, then one last message whose blob is
 * the SHA-256 of everything sent: the checksum `etcdctl snapshot restore` looks for) and
 * MoveLeader. Downgrade is left unimplemented, as in etcd 3.4.
 */
import { createHash } from 'node:crypto';
import { create } from '@bufbuild/protobuf';
import {
  AlarmMemberSchema, AlarmResponseSchema, DefragmentResponseSchema, HashKVResponseSchema, HashResponseSchema, Maintenance,
  MoveLeaderResponseSchema, SnapshotResponseSchema, StatusResponseSchema,
} from '../../gen/etcdserverpb/rpc_pb.js';
import type * as pb from '../../gen/etcdserverpb/rpc_pb.js';
import { crc32c, crc32cOfByteString } from '../../storage/backend/crc32c.js';
import { revisionFromWire } from './convert.js';
import { responseHeader } from './header.js';
import type { ApiLimits } from './kv-service.js';
import type { AlarmInfo, ServerPort } from './ports.js';
import { propose } from './proposal.js';
import { bindService, type ServiceBinding } from './service-definition.js';
import { serverStream, unary } from './unary.js';

export interface MaintenanceOptions extends ApiLimits {
  /** The server version Status reports (etcdctl prints it). */
  readonly version: string;
  /** The backend quota Status reports as dbSizeQuota (0: not reported). */
  readonly quotaBackendBytes: number;
}

/** etcd's snapshot piece size. */
export const SNAPSHOT_CHUNK_BYTES = 32 * 1024;

/** An alarm list from the member in either shape (our AlarmInfo or the protobuf AlarmMember). */
function alarmsToPb(list: unknown): pb.AlarmMember[] {
  if (!Array.isArray(list)) return [];
  return (list as Array<Partial<AlarmInfo> & { memberID?: bigint }>).map((a) =>
    create(AlarmMemberSchema, { memberID: a.memberId ?? a.memberID ?? 0n, alarm: a.alarm ?? 0 }));
}

/** CRC-32C over every bucket, key and value of the backend (etcd hashes its whole bolt file). */
export function backendHash(port: ServerPort): number {
  let hash = 0;
  for (const entry of port.store.backend.entries()) {
    hash = crc32cOfByteString(entry.bucket, hash);
    hash = crc32cOfByteString(entry.key, hash);
    hash = crc32c(entry.value, hash);
  }
  return hash >>> 0;
}

export function maintenanceService(port: ServerPort, options: MaintenanceOptions): ServiceBinding {
  return bindService(Maintenance, {
    alarm: unary<pb.AlarmRequest, pb.AlarmResponse>(async (req, { signal }) => {
      const alarms = await propose(port, { case: 'alarm', value: req }, { ...options, signal });
      return create(AlarmResponseSchema, { header: responseHeader(port), alarms: alarmsToPb(alarms) });
    }),

    status: unary<pb.StatusRequest, pb.StatusResponse>(() => {
      const s = port.status();
      return Promise.resolve(create(StatusResponseSchema, {
        header: responseHeader(port),
        version: options.version,
        dbSize: BigInt(s.dbSizeBytes),
        leader: s.leader,
        raftIndex: BigInt(s.raftIndex),
        raftTerm: BigInt(s.raftTerm),
        raftAppliedIndex: BigInt(s.raftAppliedIndex),
        errors: [...s.errors],
        dbSizeInUse: BigInt(s.dbSizeInUseBytes),
        isLearner: s.isLearner,
        dbSizeQuota: BigInt(options.quotaBackendBytes),
      }));
    }),

    defragment: unary<pb.DefragmentRequest, pb.DefragmentResponse>(async () => {
      await port.defragment();
      return create(DefragmentResponseSchema, { header: responseHeader(port) });
    }),

    hash: unary<pb.HashRequest, pb.HashResponse>(() =>
      Promise.resolve(create(HashResponseSchema, { header: responseHeader(port), hash: backendHash(port) }))),

    hashKV: unary<pb.HashKVRequest, pb.HashKVResponse>((req) => {
      const result = port.store.hashKv(revisionFromWire(req.revision));
      return Promise.resolve(create(HashKVResponseSchema, {
        header: responseHeader(port, result.revision),
        hash: result.hash >>> 0,
        compactRevision: BigInt(result.compactRevision),
        hashRevision: BigInt(result.hashRevision),
      }));
    }),

    snapshot: serverStream<pb.SnapshotRequest, pb.SnapshotResponse>(async (_req, send, { signal }) => {
      // The total size is needed up front for remaining_bytes, so the snapshot is gathered
      // first; it is the member's own consistent copy of the backend either way.
      const chunks: Uint8Array[] = [];
      let total = 0;
      for await (const chunk of port.backendSnapshot()) {
        if (signal.aborted) return;
        chunks.push(chunk);
        total += chunk.length;
      }
      const all = Buffer.concat(chunks, total);
      const sha = createHash('sha256');
      const header = responseHeader(port);
      for (let offset = 0; offset < total; offset += SNAPSHOT_CHUNK_BYTES) {
        const blob = all.subarray(offset, Math.min(total, offset + SNAPSHOT_CHUNK_BYTES));
        sha.update(blob);
        await send(create(SnapshotResponseSchema, { header, remainingBytes: BigInt(total - offset - blob.length), blob }));
      }
      await send(create(SnapshotResponseSchema, { header, remainingBytes: 0n, blob: sha.digest() }));
    }),

    moveLeader: unary<pb.MoveLeaderRequest, pb.MoveLeaderResponse>(async (req, { signal }) => {
      await port.moveLeader(req.targetID, signal);
      return create(MoveLeaderResponseSchema, { header: responseHeader(port) });
    }),
  });
}
