/**
 * The decoders that read bytes from outside the process, as fuzz targets: the peer port
 * (MessageBatch protobuf, then raft message conversion), the client port's request
 * protobufs, the WAL (record scanner, entry / hard state / conf state / segment header /
 * snapshot marker payloads) and snapshot files. Each target gets a valid encoding to mutate
 * and says which errors are "clear": our typed errors, or protobuf-es's own decode refusals
 * (listed by message). Anything else thrown (a TypeError from our code, a RangeError from a
 * bad length, a stack overflow) is a crash.
 */
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import type { DescMessage } from '@bufbuild/protobuf';
import { MessageBatchSchema } from '../../src/gen/conclave/peer_pb.js';
import {
  CompactionRequestSchema, DeleteRangeRequestSchema, LeaseGrantRequestSchema, LeaseKeepAliveRequestSchema, PutRequestSchema, RangeRequestSchema, TxnRequestSchema, WatchRequestSchema,
} from '../../src/gen/etcdserverpb/rpc_pb.js';
import { decodeMessage, encodeBatch, PeerMessageError } from '../../src/server/peer/codec.js';
import { FrameReader, RAFT_STREAM_PREAMBLE, RaftStreamFrameError, encodeFrame } from '../../src/server/peer/frames.js';
import {
  CodecError, SnapshotCorruptError, WalCorruptError, decodeConfState, decodeEntry, decodeHardState, decodeSegmentHeader, decodeSnapshotMarker,
  encodeConfState, encodeEntry, encodeHardState, encodeSegmentHeader, encodeSnapshotMarker,
} from '../../src/storage/index.js';
import { decodeSnapshotFile, encodeSnapshotFile } from '../../src/storage/snapshot-store.js';
import { RecordType, encodeRecords, scanRecords } from '../../src/storage/wal-record.js';

/** The WAL's limit on one record, as the fuzzed scanner is given it. */
export const FUZZ_MAX_RECORD_BYTES = 64 * 1024;

export interface FuzzTarget {
  readonly name: string;
  /** A valid input, the seed of mutations. */
  readonly valid: Uint8Array;
  /** Decodes; returns the decoded size in bytes when the target bounds it (checked <= its limit). */
  decode(bytes: Uint8Array): number | void;
  /** The bound on what `decode` may return for `inputBytes` (allocation beyond it is a failure). */
  limit?(inputBytes: number): number;
}

const encoder = new TextEncoder();

function protobufTarget<T extends DescMessage>(name: string, schema: T, valid: Uint8Array): FuzzTarget {
  return { name, valid, decode: (bytes) => void fromBinary(schema, bytes) };
}

const batch = toBinary(MessageBatchSchema, encodeBatch(7n, 1n, [
  { type: 'app', to: 2n, from: 1n, term: 3, logTerm: 2, index: 10, commit: 9, entries: [{ term: 3, index: 11, type: 'normal', data: encoder.encode('x') }], reject: false, rejectHint: 0, context: new Uint8Array(0) } as never,
  { type: 'voteResp', to: 2n, from: 1n, term: 3, logTerm: 0, index: 0, commit: 0, entries: [], reject: true, rejectHint: 0, context: new Uint8Array(0) } as never,
]));

const entry = { term: 4, index: 17, type: 'normal' as const, data: encoder.encode('payload') };
const confState = { voters: [1n, 2n, 3n], learners: [4n], votersOutgoing: [], learnersNext: [], autoLeave: false };

export const TARGETS: readonly FuzzTarget[] = [
  {
    name: 'peer MessageBatch',
    valid: batch,
    decode: (bytes) => {
      const decoded = fromBinary(MessageBatchSchema, bytes);
      for (const m of decoded.messages) decodeMessage(m);
    },
  },
  {
    // What the peer port's raft stream reads: the preamble, then frames of MessageBatch bytes.
    name: 'peer raft stream',
    valid: Buffer.concat([RAFT_STREAM_PREAMBLE, encodeFrame(batch), encodeFrame(batch)]),
    decode: (bytes) => {
      const reader = new FrameReader(4096, true);
      // Fed in two pieces, as a socket may deliver it.
      const cut = bytes.length >> 1;
      for (const chunk of [bytes.subarray(0, cut), bytes.subarray(cut)]) {
        for (const payload of reader.push(Buffer.from(chunk))) {
          for (const m of fromBinary(MessageBatchSchema, payload).messages) decodeMessage(m);
        }
      }
    },
  },
  protobufTarget('client RangeRequest', RangeRequestSchema, toBinary(RangeRequestSchema, create(RangeRequestSchema, { key: encoder.encode('a'), rangeEnd: encoder.encode('b'), limit: 10n, revision: 5n }))),
  protobufTarget('client PutRequest', PutRequestSchema, toBinary(PutRequestSchema, create(PutRequestSchema, { key: encoder.encode('k'), value: encoder.encode('v'), lease: 99n, prevKv: true }))),
  protobufTarget('client DeleteRangeRequest', DeleteRangeRequestSchema, toBinary(DeleteRangeRequestSchema, create(DeleteRangeRequestSchema, { key: encoder.encode('k'), prevKv: true }))),
  protobufTarget('client TxnRequest', TxnRequestSchema, toBinary(TxnRequestSchema, create(TxnRequestSchema, {
    compare: [{ key: encoder.encode('k'), targetUnion: { case: 'version', value: 3n } }],
    success: [{ request: { case: 'requestPut', value: { key: encoder.encode('k'), value: encoder.encode('v') } } }],
    failure: [{ request: { case: 'requestRange', value: { key: encoder.encode('k') } } }],
  }))),
  protobufTarget('client WatchRequest', WatchRequestSchema, toBinary(WatchRequestSchema, create(WatchRequestSchema, { requestUnion: { case: 'createRequest', value: { key: encoder.encode('a'), startRevision: 3n, prevKv: true, filters: [1] } } }))),
  protobufTarget('client LeaseGrantRequest', LeaseGrantRequestSchema, toBinary(LeaseGrantRequestSchema, create(LeaseGrantRequestSchema, { TTL: 10n, ID: 5n }))),
  protobufTarget('client LeaseKeepAliveRequest', LeaseKeepAliveRequestSchema, toBinary(LeaseKeepAliveRequestSchema, create(LeaseKeepAliveRequestSchema, { ID: 5n }))),
  protobufTarget('client CompactionRequest', CompactionRequestSchema, toBinary(CompactionRequestSchema, create(CompactionRequestSchema, { revision: 5n, physical: true }))),
  {
    name: 'WAL records',
    valid: encodeRecords([{ type: RecordType.Entry, payload: encodeEntry(entry) }, { type: RecordType.HardState, payload: encodeHardState({ term: 4, vote: 2n, commit: 17 }) }]),
    decode: (bytes) => {
      let largest = 0;
      scanRecords(bytes, FUZZ_MAX_RECORD_BYTES, (record) => {
        largest = Math.max(largest, record.payload.byteLength);
        // The payload decoders must refuse junk with a CodecError too.
        if (record.type === RecordType.Entry) decodeEntry(record.payload);
        else if (record.type === RecordType.HardState) decodeHardState(record.payload);
      });
      return largest;
    },
    limit: (inputBytes) => Math.min(inputBytes, FUZZ_MAX_RECORD_BYTES),
  },
  { name: 'WAL entry payload', valid: encodeEntry(entry), decode: (bytes) => void decodeEntry(bytes) },
  { name: 'WAL hard state payload', valid: encodeHardState({ term: 4, vote: 2n, commit: 17 }), decode: (bytes) => void decodeHardState(bytes) },
  { name: 'conf state', valid: encodeConfState(confState), decode: (bytes) => void decodeConfState(bytes) },
  { name: 'WAL segment header', valid: encodeSegmentHeader({ seq: 3, firstIndex: 100 }), decode: (bytes) => void decodeSegmentHeader(bytes) },
  { name: 'WAL snapshot marker', valid: encodeSnapshotMarker({ index: 10, term: 2, replacesLog: true }), decode: (bytes) => void decodeSnapshotMarker(bytes) },
  {
    name: 'snapshot file',
    valid: encodeSnapshotFile({ metadata: { index: 10, term: 2, confState }, data: encoder.encode('state machine bytes') }),
    decode: (bytes) => decodeSnapshotFile(bytes, 'fuzz.snap').data.byteLength,
    limit: (inputBytes) => inputBytes,
  },
];

/** Whether `error` is a clear, expected refusal (and not a crash). */
export function isClearError(error: unknown): boolean {
  if (error instanceof CodecError || error instanceof WalCorruptError || error instanceof SnapshotCorruptError || error instanceof PeerMessageError || error instanceof RaftStreamFrameError) return true;
  // protobuf-es's binary reader refuses with these (RangeError for a short buffer, TypeError
  // from its fatal UTF-8 decoder for a bad string field); gRPC answers them as a failed call.
  return error instanceof Error && PROTOBUF_REFUSALS.test(error.message);
}

const PROTOBUF_REFUSALS = /^(premature EOF|invalid varint|invalid end group tag|illegal tag: |cant skip wire type|invalid (u?int32|u?int64): |The encoded data was not valid for encoding utf-8)/;

/** Ways to damage a valid input: truncate, flip bits, overwrite, insert, append junk, or blow up a length. */
export function mutate(valid: Uint8Array, seed: readonly number[], kind: number): Uint8Array {
  const bytes = valid.slice();
  const at = (i: number): number => (seed[i % Math.max(1, seed.length)] ?? 0);
  switch (kind % 6) {
    case 0:
      return bytes.subarray(0, at(0) % (bytes.length + 1));
    case 1:
      for (let i = 0; i < 1 + (at(0) % 4); i++) {
        const p = at(i + 1) % bytes.length;
        bytes[p] = bytes[p]! ^ (1 << (at(i + 2) % 8));
      }
      return bytes;
    case 2:
      for (let i = 0; i < seed.length && i < bytes.length; i++) bytes[(at(0) + i) % bytes.length] = at(i);
      return bytes;
    case 3: {
      const cut = at(0) % (bytes.length + 1);
      return Uint8Array.from([...bytes.subarray(0, cut), ...seed, ...bytes.subarray(cut)]);
    }
    case 4:
      return Uint8Array.from([...bytes, ...seed]);
    default: {
      // A varint or fixed length field set huge (0xff...): the decoder must not allocate it.
      const pos = at(0) % bytes.length;
      for (let i = 0; i < 4 && pos + i < bytes.length; i++) bytes[pos + i] = 0xff;
      return bytes;
    }
  }
}
