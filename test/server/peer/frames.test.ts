// The raft stream's framing (src/server/peer/frames.ts): payloads survive any split of the byte
// stream into chunks, a hostile length is refused before anything is allocated for it, and a
// stream that does not open with the preamble is refused at its first differing byte.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FrameReader, RAFT_STREAM_PREAMBLE, RaftStreamFrameError, encodeFrame } from '../../../src/server/peer/frames.js';

/** Splits `bytes` at the given cut points (sorted, deduplicated, inside the buffer). */
function split(bytes: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let from = 0;
  for (const point of [...points, bytes.length]) {
    if (point > from) chunks.push(bytes.subarray(from, point));
    from = Math.max(from, point);
  }
  return chunks;
}

describe('raft stream frames', () => {
  it('hands back every payload, in order, however the stream is cut into chunks', () => {
    fc.assert(fc.property(
      fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 8 }),
      fc.array(fc.nat(), { maxLength: 12 }),
      fc.boolean(),
      (payloads, cuts, withPreamble) => {
        const stream = Buffer.concat([...(withPreamble ? [RAFT_STREAM_PREAMBLE] : []), ...payloads.map((p) => encodeFrame(p))]);
        const reader = new FrameReader(1024, withPreamble);
        const received = split(stream, cuts).flatMap((chunk) => reader.push(chunk));
        expect(received.map((b) => [...b])).toEqual(payloads.map((p) => [...p]));
        expect(reader.bufferedBytes).toBe(0);
      },
    ), { numRuns: 500 });
  });

  it('assembles a frame far larger than its chunks once, when its last byte arrives', () => {
    const payload = Buffer.alloc(1 << 20, 7);
    const reader = new FrameReader(2 << 20, false);
    const chunks = split(encodeFrame(payload), Array.from({ length: 64 }, (_, i) => (i + 1) * 16_384));
    for (const chunk of chunks.slice(0, -1)) expect(reader.push(chunk)).toEqual([]);
    expect(reader.bufferedBytes).toBe(payload.length + 4 - chunks.at(-1)!.length);
    const [assembled] = reader.push(chunks.at(-1)!);
    expect(assembled!.equals(payload)).toBe(true);
  });

  it('refuses a length over the limit from its 4-byte header alone', () => {
    const reader = new FrameReader(1000, false);
    const header = Buffer.alloc(4);
    header.writeUInt32BE(1001);
    expect(() => reader.push(header)).toThrow(RaftStreamFrameError);
    expect(() => new FrameReader(1000, false).push(Buffer.from([0xff, 0xff, 0xff, 0xff]))).toThrow(/4294967295 bytes exceeds the limit of 1000/);
    // At the limit it is a frame.
    expect(new FrameReader(3, false).push(encodeFrame(Buffer.from([1, 2, 3])))).toHaveLength(1);
  });

  it('refuses a stream that does not open with the preamble, even a byte at a time', () => {
    expect(() => new FrameReader(1000, true).push(Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'))).toThrow(/bad preamble/);
    const reader = new FrameReader(1000, true);
    const wrong = Buffer.from(RAFT_STREAM_PREAMBLE);
    wrong[9] = 0x21;
    for (let i = 0; i < 9; i++) expect(reader.push(wrong.subarray(i, i + 1))).toEqual([]);
    expect(() => reader.push(wrong.subarray(9, 10))).toThrow(RaftStreamFrameError);
  });
});
