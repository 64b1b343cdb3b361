// Method: known-answer vectors for CRC-32C (RFC 3720 appendix B.4), and fast-check round trips
// for every raft value the WAL stores, plus truncation and trailing-byte rejection: a damaged
// payload must fail to decode, never decode into something else.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { crc32c } from '../../src/storage/crc32c.js';
import { CodecError } from '../../src/storage/errors.js';
import {
  decodeConfState,
  decodeEntry,
  decodeHardState,
  decodeSnapshotMetadata,
  encodeConfState,
  encodeEntry,
  encodeHardState,
  encodeSnapshotMetadata,
} from '../../src/storage/raft-codec.js';

const safeInt = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
const id = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });
const entry = fc.record({
  term: safeInt,
  index: safeInt,
  type: fc.constantFrom('normal' as const, 'confChange' as const),
  data: fc.uint8Array({ maxLength: 300 }),
});
const confState = fc.record({
  voters: fc.array(id, { maxLength: 5 }),
  learners: fc.array(id, { maxLength: 5 }),
  votersOutgoing: fc.array(id, { maxLength: 5 }),
  learnersNext: fc.array(id, { maxLength: 5 }),
  autoLeave: fc.boolean(),
});

describe('crc32c', () => {
  it('matches the RFC 3720 test vectors', () => {
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
    expect(crc32c(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i))).toBe(0x46dd794e);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i))).toBe(0x113fdb5c);
    expect(crc32c(new TextEncoder().encode('123456789'))).toBe(0xe3069283);
  });

  it('continues across pieces and honours start/end', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), fc.uint8Array({ maxLength: 100 }), (a, b) => {
        const joined = new Uint8Array([...a, ...b]);
        expect(crc32c(b, crc32c(a))).toBe(crc32c(joined));
        expect(crc32c(joined, 0, a.length)).toBe(crc32c(b));
      }),
    );
  });
});

describe('raft codec', () => {
  it('round-trips entries, hard states, conf states and snapshot metadata', () => {
    fc.assert(
      fc.property(entry, (value) => {
        expect(decodeEntry(encodeEntry(value))).toEqual(value);
      }),
    );
    fc.assert(
      fc.property(fc.record({ term: safeInt, vote: id, commit: safeInt }), (value) => {
        expect(decodeHardState(encodeHardState(value))).toEqual(value);
      }),
    );
    fc.assert(
      fc.property(confState, (value) => {
        expect(decodeConfState(encodeConfState(value))).toEqual(value);
      }),
    );
    fc.assert(
      fc.property(fc.record({ index: safeInt, term: safeInt, confState }), (value) => {
        expect(decodeSnapshotMetadata(encodeSnapshotMetadata(value))).toEqual(value);
      }),
    );
  });

  it('rejects every truncation and any trailing byte', () => {
    fc.assert(
      fc.property(entry, (value) => {
        const bytes = encodeEntry(value);
        for (let cut = 0; cut < bytes.length; cut++) expect(() => decodeEntry(bytes.subarray(0, cut))).toThrow(CodecError);
        expect(() => decodeEntry(new Uint8Array([...bytes, 0]))).toThrow(CodecError);
      }),
      { numRuns: 30 },
    );
  });

  it('rejects unknown tags and values beyond the safe integer range', () => {
    const bytes = encodeEntry({ term: 1, index: 2, type: 'normal', data: new Uint8Array(0) });
    bytes[16] = 9;
    expect(() => decodeEntry(bytes)).toThrow(/unknown entry type tag 9/);
    const state = encodeHardState({ term: 1, vote: 0n, commit: 0 });
    state[7] = 0xff;
    expect(() => decodeHardState(state)).toThrow(/safe integer/);
    const conf = encodeConfState({ voters: [], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false });
    conf[0] = 200;
    expect(() => decodeConfState(conf)).toThrow(/longer than the record/);
  });
});
