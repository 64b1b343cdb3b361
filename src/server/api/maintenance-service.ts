/**
 * The Maintenance service: Alarm (every action through raft, as etcd 3.4 does), Status,
 * Defragment, Hash (CRC-32C over the whole backend), HashKV, Snapshot (the backend's
 * snapshot stream in 32 KiB pieces with remaining_bytes, then one last message whose blob is
 * the SHA-256 of everything sent: the checksum `etcdctl snapshot save` requires, with the
 * size rule it applies, see alignSnapshot) and
 * MoveLeader. Downgrade is left unimplemented, as in etcd 3.4.
 */
import { createHash } from 'node:crypto';
import { create } from '@bufbuild/protobuf';
import {
  AlarmMemberSchema, AlarmResponseSchema, DefragmentResponseSchema, HashKVResponseSchema, HashResponseSchema, Maintenance,
  MoveLeaderResponseSchema, SnapshotResponseSchema, StatusResponseSchema,
} from '../../gen/etcdserverpb/rpc_pb.js';
import type * as pb from '../../gen/etcdserverpb/rpc_pb.js';
import { crc32c, crc32cOfByteString } from '../../storage/crc32c.js';
import type { BackendEntry } from '../../storage/backend/backend.js';
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
  return entriesHash(port.store.backend.entries());
}

/** The same CRC-32C over any sequence of backend entries (a backup file's, for `snapshot status`). */
export function entriesHash(entries: Iterable<BackendEntry>): number {
  let hash = 0;
  for (const entry of entries) {
    hash = crc32cOfByteString(entry.bucket, hash);
    hash = crc32cOfByteString(entry.key, hash);
    hash = crc32c(entry.value, hash);
  }
  return hash >>> 0;
}

/** etcdctl 3.4 accepts a snapshot only if its size is a multiple of this plus the 32-byte checksum (bolt pages). */
export const SNAPSHOT_ALIGN_BYTES = 512;

/**
 * Pads a snapshot to a multiple of SNAPSHOT_ALIGN_BYTES, as etcdctl's `snapshot save` demands
 * (it checks size % 512 == 32 once the checksum is appended). The padding is self-describing:
 * at least 4 bytes, zeros ending in its own length as a big-endian u32, so `unalignSnapshot`
 * recovers the exact backend stream.
 */
export function alignSnapshot(body: Buffer): Buffer {
  let pad = (SNAPSHOT_ALIGN_BYTES - (body.length % SNAPSHOT_ALIGN_BYTES)) % SNAPSHOT_ALIGN_BYTES;
  if (pad < 4) pad += SNAPSHOT_ALIGN_BYTES;
  const padding = Buffer.alloc(pad);
  padding.writeUInt32BE(pad, pad - 4);
  return Buffer.concat([body, padding]);
}

/** The backend stream inside a saved snapshot file (checksum and padding removed), or throws if malformed. */
export function unalignSnapshot(saved: Uint8Array): Uint8Array {
  const file = Buffer.from(saved.buffer, saved.byteOffset, saved.byteLength);
  const body = file.subarray(0, file.length - 32);
  if (file.length < 32 + SNAPSHOT_ALIGN_BYTES || body.length % SNAPSHOT_ALIGN_BYTES !== 0) throw new Error('not an aligned snapshot file');
  if (!createHash('sha256').update(body).digest().equals(file.subarray(file.length - 32))) throw new Error('snapshot checksum mismatch');
  const pad = body.readUInt32BE(body.length - 4);
  if (pad < 4 || pad > body.length || pad >= SNAPSHOT_ALIGN_BYTES + 4) throw new Error('bad snapshot padding');
  return body.subarray(0, body.length - pad);
}

/** etcd's AlarmType names, as its text format prints them. */
const ALARM_NAMES: Record<number, string> = { 0: 'NONE', 1: 'NOSPACE', 2: 'CORRUPT' };

/**
 * Status' errors as etcd fills them: "etcdserver: no leader" without a leader, then one entry
 * per active alarm in the protobuf text form etcdctl prints (`memberID:<decimal> alarm:NOSPACE `,
 * trailing space included).
 */
export function statusErrors(own: readonly string[], leader: bigint, alarms: readonly AlarmInfo[]): string[] {
  const errors = [...own];
  if (leader === 0n) errors.push('etcdserver: no leader');
  for (const a of alarms) errors.push(`memberID:${a.memberId} alarm:${ALARM_NAMES[a.alarm] ?? String(a.alarm)} `);
  return errors;
}

export function maintenanceService(port: ServerPort, options: MaintenanceOptions): ServiceBinding {
  return bindService(Maintenance, {
    alarm: unary<pb.AlarmRequest, pb.AlarmResponse>(async (req, { signal, caller }) => {
      const alarms = await propose(port, { case: 'alarm', value: req }, { ...options, signal, caller });
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
        errors: statusErrors(s.errors, s.leader, port.alarms()),
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
      const all = alignSnapshot(Buffer.concat(chunks, total));
      total = all.length;
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
