import { crc32c } from './crc32c.js';

/**
 * WAL record framing. Every record is a multiple of 8 bytes:
 *
 *   offset 0   u32  payloadBytes
 *   offset 4   u8   type (1..4, see RecordType)
 *   offset 5   3    reserved, zero
 *   offset 8   u32  headerCrc = CRC-32C(bytes 0..8)
 *   offset 12  payloadBytes of payload
 *              zero padding up to the footer
 *   end - 8    u32  recordCrc = CRC-32C(payload) seeded with headerCrc (covers header + payload)
 *   end - 4    u32  END_MARK (bytes 00 00 00 A5)
 *
 * Why: the header has its own checksum, so a length field torn or flipped on disk is never
 * trusted (it is checked before anything is allocated). The record ends with a fixed non-zero
 * byte; the writer writes sequentially into zero-filled, pre-allocated space, so a record whose
 * last byte is zero never fully reached the disk (a torn write), while a record whose last byte
 * is there was completely written and any mismatch in it is damage. 0xA5 has four bits set, so
 * no single bit flip can make it zero.
 */
export const HEADER_BYTES = 12;
export const FOOTER_BYTES = 8;
export const RECORD_ALIGN_BYTES = 8;
export const END_MARK_BYTE = 0xa5;

export enum RecordType {
  /** First record of every segment: format version, segment sequence and first raft index. */
  SegmentHeader = 1,
  Entry = 2,
  HardState = 3,
  SnapshotMarker = 4,
}

export function isRecordType(value: number): value is RecordType {
  return value >= RecordType.SegmentHeader && value <= RecordType.SnapshotMarker;
}

/** The on-disk size of a record carrying `payloadBytes`. */
export function recordBytes(payloadBytes: number): number {
  const raw = HEADER_BYTES + payloadBytes + FOOTER_BYTES;
  return Math.ceil(raw / RECORD_ALIGN_BYTES) * RECORD_ALIGN_BYTES;
}

/** Writes one framed record into `target` at `offset` (which must be zero-filled) and returns its size. */
export function writeRecord(target: Uint8Array, offset: number, type: RecordType, payload: Uint8Array): number {
  const size = recordBytes(payload.length);
  const view = new DataView(target.buffer, target.byteOffset + offset, size);
  view.setUint32(0, payload.length, true);
  view.setUint8(4, type);
  const headerCrc = crc32c(target, 0, offset, offset + 8);
  view.setUint32(8, headerCrc, true);
  target.set(payload, offset + HEADER_BYTES);
  view.setUint32(size - 8, crc32c(payload, headerCrc), true);
  view.setUint8(size - 1, END_MARK_BYTE);
  return size;
}

export function encodeRecords(records: readonly { type: RecordType; payload: Uint8Array }[]): Uint8Array {
  let total = 0;
  for (const record of records) total += recordBytes(record.payload.length);
  const out = new Uint8Array(total);
  let offset = 0;
  for (const record of records) offset += writeRecord(out, offset, record.type, record.payload);
  return out;
}

export function isAllZero(bytes: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (bytes[i] !== 0) return false;
  return true;
}

/** How a scan of one segment ended. */
export type ScanEnd =
  /** Clean end of data: zeros (pre-allocated space) or end of file from here on. */
  | { readonly kind: 'clean'; readonly offset: number }
  /** An incomplete last record with only zeros after it: what a crash during a write leaves. */
  | { readonly kind: 'torn'; readonly offset: number; readonly problem: string }
  /** Damage: bytes that a crash cannot explain. */
  | { readonly kind: 'corrupt'; readonly offset: number; readonly problem: string };

export interface ScannedRecord {
  readonly type: RecordType;
  readonly payload: Uint8Array;
  readonly offset: number;
}

/**
 * Walks the records of one segment's bytes and calls `onRecord` for each valid one, in order.
 * Stops at the first record that does not verify and says whether the remainder is a clean
 * end, a torn tail, or corruption. A torn tail is reported as such wherever it is; only the
 * caller knows whether this is the last segment (where a torn tail is expected).
 */
export function scanRecords(bytes: Uint8Array, maxRecordBytes: number, onRecord: (record: ScannedRecord) => void): ScanEnd {
  const size = bytes.length;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let offset = 0;
  for (;;) {
    if (offset >= size) return { kind: 'clean', offset };
    if (size - offset < HEADER_BYTES) {
      return isAllZero(bytes, offset, size)
        ? { kind: 'clean', offset }
        : { kind: 'torn', offset, problem: `partial record header at end of file` };
    }
    if (isAllZero(bytes, offset, offset + HEADER_BYTES)) {
      return isAllZero(bytes, offset + HEADER_BYTES, size)
        ? { kind: 'clean', offset }
        : { kind: 'corrupt', offset, problem: 'zeroed record header followed by data' };
    }
    const storedHeaderCrc = view.getUint32(offset + 8, true);
    const headerCrc = crc32c(bytes, 0, offset, offset + 8);
    if (storedHeaderCrc !== headerCrc) {
      return isAllZero(bytes, offset + HEADER_BYTES, size)
        ? { kind: 'torn', offset, problem: 'partial record header' }
        : { kind: 'corrupt', offset, problem: `record header checksum mismatch (stored ${hex(storedHeaderCrc)}, computed ${hex(headerCrc)})` };
    }
    const payloadBytes = view.getUint32(offset, true);
    const type = view.getUint8(offset + 4);
    if (!isRecordType(type)) return { kind: 'corrupt', offset, problem: `unknown record type ${type}` };
    if (!isAllZero(bytes, offset + 5, offset + 8)) return { kind: 'corrupt', offset, problem: 'reserved header bytes are not zero' };
    if (payloadBytes > maxRecordBytes) {
      return { kind: 'corrupt', offset, problem: `record length ${payloadBytes} exceeds the limit of ${maxRecordBytes} bytes` };
    }
    const total = recordBytes(payloadBytes);
    const end = offset + total;
    if (end > size) {
      // The header is intact (its checksum holds) but the file ends inside the record: the
      // write that extended the file was cut short.
      return { kind: 'torn', offset, problem: `record of ${total} bytes runs past end of file (${size})` };
    }
    const lastByte = bytes[end - 1]!;
    if (lastByte === 0) {
      return isAllZero(bytes, end, size)
        ? { kind: 'torn', offset, problem: 'record was not completely written' }
        : { kind: 'corrupt', offset, problem: 'incomplete record followed by data' };
    }
    const payloadEnd = offset + HEADER_BYTES + payloadBytes;
    if (lastByte !== END_MARK_BYTE || !isAllZero(bytes, end - 4, end - 1)) {
      return { kind: 'corrupt', offset, problem: 'record end mark is damaged' };
    }
    if (!isAllZero(bytes, payloadEnd, end - 8)) return { kind: 'corrupt', offset, problem: 'record padding is not zero' };
    const storedCrc = view.getUint32(end - 8, true);
    const crc = crc32c(bytes, headerCrc, offset + HEADER_BYTES, payloadEnd);
    if (storedCrc !== crc) {
      return { kind: 'corrupt', offset, problem: `record checksum mismatch (stored ${hex(storedCrc)}, computed ${hex(crc)})` };
    }
    onRecord({ type, payload: bytes.subarray(offset + HEADER_BYTES, payloadEnd), offset });
    offset = end;
  }
}

function hex(value: number): string {
  return `0x${value.toString(16).padStart(8, '0')}`;
}
