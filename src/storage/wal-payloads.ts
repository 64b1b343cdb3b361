import { ByteReader, ByteWriter } from './bytes.js';
import { CodecError } from './errors.js';

/**
 * Payloads of the WAL's own records and the segment file names.
 *
 *   SegmentHeader:  8 bytes magic "CNCLVWAL", u32 formatVersion (1), u64 seq, u64 firstIndex
 *   SnapshotMarker: u64 index, u64 term, u8 kind (0 = made here from applied state,
 *                   1 = installed from the leader, which replaces the whole log)
 *
 * Segment file: `<seq as 16 hex digits>-<firstIndex as 16 hex digits>.wal`. `firstIndex` is
 * the raft index the segment's first entry would have (last index + 1 when it was cut); it lets
 * old segments be released by name once a snapshot covers them.
 */
export const WAL_MAGIC = new TextEncoder().encode('CNCLVWAL');
export const WAL_FORMAT_VERSION = 1;

export interface SegmentHeader {
  readonly seq: number;
  readonly firstIndex: number;
}

export interface SnapshotMarker {
  readonly index: number;
  readonly term: number;
  /** True when the snapshot was installed from a leader: the log before it is discarded. */
  readonly replacesLog: boolean;
}

export function encodeSegmentHeader(header: SegmentHeader): Uint8Array {
  return new ByteWriter(28).raw(WAL_MAGIC).u32(WAL_FORMAT_VERSION).u64(header.seq).u64(header.firstIndex).finish();
}

export function decodeSegmentHeader(bytes: Uint8Array): SegmentHeader {
  const reader = new ByteReader(bytes, 'wal segment header');
  const magic = reader.raw(WAL_MAGIC.length);
  if (!magic.every((byte, i) => byte === WAL_MAGIC[i])) throw new CodecError('wal segment header', 'bad magic');
  const version = reader.u32();
  if (version !== WAL_FORMAT_VERSION) throw new CodecError('wal segment header', `unsupported format version ${version}`);
  const header = { seq: reader.u64(), firstIndex: reader.u64() };
  reader.end();
  return header;
}

export function encodeSnapshotMarker(marker: SnapshotMarker): Uint8Array {
  return new ByteWriter(17).u64(marker.index).u64(marker.term).u8(marker.replacesLog ? 1 : 0).finish();
}

export function decodeSnapshotMarker(bytes: Uint8Array): SnapshotMarker {
  const reader = new ByteReader(bytes, 'wal snapshot marker');
  const index = reader.u64();
  const term = reader.u64();
  const kind = reader.u8();
  if (kind > 1) throw new CodecError('wal snapshot marker', `unknown kind ${kind}`);
  reader.end();
  return { index, term, replacesLog: kind === 1 };
}

const SEGMENT_NAME = /^([0-9a-f]{16})-([0-9a-f]{16})\.wal$/;

export function segmentName(header: SegmentHeader): string {
  return `${hex16(header.seq)}-${hex16(header.firstIndex)}.wal`;
}

export function parseSegmentName(name: string): SegmentHeader | undefined {
  const match = SEGMENT_NAME.exec(name);
  if (match === null) return undefined;
  const seq = Number.parseInt(match[1]!, 16);
  const firstIndex = Number.parseInt(match[2]!, 16);
  if (!Number.isSafeInteger(seq) || !Number.isSafeInteger(firstIndex)) return undefined;
  return { seq, firstIndex };
}

export function hex16(value: number): string {
  return value.toString(16).padStart(16, '0');
}
