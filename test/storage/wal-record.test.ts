// Method: exhaustive, at the level of one segment's bytes. A segment image (records followed
// by pre-allocated zeros) is damaged in every possible way of two kinds: every single-bit flip
// inside every record, and a tear of the last write at every byte. A flip must always be
// reported as corruption at (or before) the damaged record and never yield a different record;
// a tear must always be reported as a clean end or a torn tail at the first incomplete record.
import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../src/base/random.js';
import { encodeRecords, recordBytes, RecordType, scanRecords } from '../../src/storage/wal-record.js';
import type { ScannedRecord } from '../../src/storage/wal-record.js';

const MAX_RECORD_BYTES = 1 << 20;

function sampleRecords(random: SeededRandom, count: number): { type: RecordType; payload: Uint8Array }[] {
  const sizes = [0, 1, 7, 8, 25, 100, 513];
  return Array.from({ length: count }, (_, i) => ({
    type: i % 3 === 0 ? RecordType.HardState : RecordType.Entry,
    payload: Uint8Array.from({ length: sizes[i % sizes.length]! }, () => random.int(256)),
  }));
}

function scan(bytes: Uint8Array) {
  const records: ScannedRecord[] = [];
  const end = scanRecords(bytes, MAX_RECORD_BYTES, (record) => records.push({ ...record, payload: record.payload.slice() }));
  return { records, end };
}

describe('WAL record framing', () => {
  const random = new SeededRandom(42);
  const records = sampleRecords(random, 9);
  const body = encodeRecords(records);
  const offsets: number[] = [];
  let at = 0;
  for (const record of records) {
    offsets.push(at);
    at += recordBytes(record.payload.length);
  }
  const zeros = 4096;
  const image = new Uint8Array(body.length + zeros);
  image.set(body);

  it('reads back what was written and stops cleanly at the zeros', () => {
    const { records: read, end } = scan(image);
    expect(end).toEqual({ kind: 'clean', offset: body.length });
    expect(read.map((r) => [r.type, [...r.payload]])).toEqual(records.map((r) => [r.type, [...r.payload]]));
  });

  it('detects every single-bit flip in every record as corruption, never as a different record', () => {
    let flips = 0;
    for (let byte = 0; byte < body.length; byte++) {
      const damagedRecord = offsets.findLastIndex((offset) => offset <= byte);
      for (let bit = 0; bit < 8; bit++) {
        const damaged = image.slice();
        damaged[byte]! ^= 1 << bit;
        const { records: read, end } = scan(damaged);
        flips += 1;
        expect(end.kind, `flip of bit ${bit} at byte ${byte}`).toBe('corrupt');
        expect(end.offset).toBe(offsets[damagedRecord]);
        // Every record delivered is an undamaged original.
        expect(read.length).toBe(damagedRecord);
        read.forEach((r, i) => expect([...r.payload]).toEqual([...records[i]!.payload]));
      }
    }
    expect(flips).toBe(body.length * 8);
  });

  it('reports a tear of the last write at every byte as a clean end or a torn tail, never as corruption', () => {
    // The last write carried the last four records; everything before it was synced.
    const lastWriteStart = offsets[5]!;
    let torn = 0;
    let clean = 0;
    for (let kept = 0; kept <= body.length - lastWriteStart; kept++) {
      const damaged = new Uint8Array(image.length);
      damaged.set(body.subarray(0, lastWriteStart + kept));
      const { records: read, end } = scan(damaged);
      const boundary = lastWriteStart + kept;
      const complete = offsets.filter((offset, i) => offset + recordBytes(records[i]!.payload.length) <= boundary).length;
      expect(read.length, `tear after ${kept} bytes`).toBe(complete);
      // A tear that kept only zero bytes of the next record (e.g. the high bytes of a small
      // length) looks exactly like nothing was written: that is a clean end, correctly.
      const partial = body.subarray(offsets[complete] ?? body.length, boundary);
      if (partial.every((byte) => byte === 0)) {
        expect(end).toEqual({ kind: 'clean', offset: offsets[complete] ?? body.length });
        clean += 1;
      } else {
        expect(end.kind, `tear after ${kept} bytes`).toBe('torn');
        expect(end.offset).toBe(offsets[complete]);
        torn += 1;
      }
    }
    expect(torn + clean).toBe(body.length - lastWriteStart + 1);
    expect(torn).toBeGreaterThan(600);
    expect(clean).toBeGreaterThanOrEqual(5);
  });

  it('reports a torn tail when the file ends inside a record, and corruption when data follows a hole', () => {
    expect(scan(body.subarray(0, offsets[8]! + 20)).end).toMatchObject({ kind: 'torn', offset: offsets[8] });
    const hole = image.slice();
    hole.fill(0, offsets[2]!, offsets[3]!);
    expect(scan(hole).end).toMatchObject({ kind: 'corrupt', offset: offsets[2], problem: 'zeroed record header followed by data' });
    const partlyZeroed = image.slice();
    partlyZeroed.fill(0, offsets[2]! + 14, offsets[3]!);
    expect(scan(partlyZeroed).end).toMatchObject({ kind: 'corrupt', offset: offsets[2] });
  });

  it('never trusts a length beyond the limit, even with a valid header checksum', () => {
    const big = encodeRecords([{ type: RecordType.Entry, payload: new Uint8Array(2048) }]);
    const end = scanRecords(big, 1024, () => undefined);
    expect(end).toMatchObject({ kind: 'corrupt', offset: 0 });
    expect(end.kind === 'corrupt' && end.problem).toMatch(/exceeds the limit of 1024/);
  });
});
