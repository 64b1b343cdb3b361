// Backend conformance: the same checks on the memory and lmdb engines. Deterministic
// example tests of the contract (ordered ranges, atomic writes with read-your-writes,
// replaceAll, close) plus a seeded random comparison against a plain Map reference, and
// the snapshot stream round trip across engines (including corruption detection).
import { afterAll, describe, expect, it } from 'vitest';
import { SeededRandom } from '../../../src/base/random.js';
import type { Backend, BackendOp } from '../../../src/storage/backend/backend.js';
import { BackendClosedError, SnapshotCorruptError } from '../../../src/storage/backend/errors.js';
import { crc32c } from '../../../src/storage/crc32c.js';
import { readSnapshot, restoreSnapshot, writeSnapshot } from '../../../src/storage/backend/snapshot.js';
import { cleanup, engines } from './engines.js';

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const text = (value: Uint8Array | undefined): string | undefined => (value === undefined ? undefined : new TextDecoder().decode(value));
const keysOf = (backend: Backend, start: string, end?: string): string[] => [...backend.range('key', start, end)].map(([k]) => k);

afterAll(cleanup);

describe.each(engines)('backend conformance: $name', (engine) => {
  it('orders keys byte-wise, including bytes above 0x7f and prefixes', () => {
    const backend = engine.create();
    const keys = ['b', 'a', '\xff', 'ab', '\x00', 'a\xff', '\x80'];
    backend.write(keys.map((key) => ({ bucket: 'key', key, value: bytes(key.length.toString()) })));
    expect(keysOf(backend, '')).toEqual(['\x00', 'a', 'ab', 'a\xff', 'b', '\x80', '\xff']);
    expect(keysOf(backend, 'a', 'b')).toEqual(['a', 'ab', 'a\xff']);
    expect(keysOf(backend, 'b', 'a')).toEqual([]);
    backend.close();
  });

  it('keeps buckets apart and reads its own writes, deletes included', () => {
    const backend = engine.create();
    backend.write([{ bucket: 'key', key: 'k', value: bytes('1') }, { bucket: 'meta', key: 'k', value: bytes('m') }]);
    backend.flush();
    backend.write([{ bucket: 'key', key: 'k', value: null }, { bucket: 'key', key: 'j', value: bytes('2') }]);
    expect(text(backend.get('key', 'k'))).toBeUndefined();
    expect(text(backend.get('meta', 'k'))).toBe('m');
    expect(keysOf(backend, '')).toEqual(['j']);
    expect([...backend.range('lease', '')]).toEqual([]);
    backend.close();
  });

  it('matches a Map reference over random writes, flushes and ranges', () => {
    const backend = engine.create({ batchOps: 7 });
    const reference = new Map<string, string>();
    const random = new SeededRandom(42);
    const randomKey = (): string => String.fromCharCode(...Array.from({ length: 1 + random.int(3) }, () => [0x00, 0x61, 0x62, 0xff][random.int(4)]!));
    for (let step = 0; step < 400; step += 1) {
      const ops: BackendOp[] = [];
      for (let i = random.int(4); i >= 0; i -= 1) {
        const key = randomKey();
        if (random.chance(0.3)) {
          ops.push({ bucket: 'key', key, value: null });
          reference.delete(key);
        } else {
          const value = `v${step}.${i}`;
          ops.push({ bucket: 'key', key, value: bytes(value) });
          reference.set(key, value);
        }
      }
      backend.write(ops);
      if (random.chance(0.1)) backend.flush();
      const [a, b] = [randomKey(), randomKey()].sort();
      const expected = [...reference.keys()].filter((k) => k >= a! && k < b!).sort();
      expect(keysOf(backend, a!, b)).toEqual(expected);
      const probe = randomKey();
      expect(text(backend.get('key', probe))).toBe(reference.get(probe));
    }
    expect([...backend.range('key', '')].map(([k, v]) => [k, text(v)])).toEqual([...reference.entries()].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)));
    backend.close();
  });

  it('releases ranges that the consumer stops reading early', () => {
    const backend = engine.create({ batchOps: 1 });
    backend.write(Array.from({ length: 50 }, (_, i) => ({ bucket: 'key' as const, key: `k${i}`, value: bytes(String(i)) })));
    for (let i = 0; i < 400; i += 1) {
      for (const [key] of backend.range('key', 'k')) if (key !== '') break;
      backend.write([{ bucket: 'key', key: `n${i % 10}`, value: bytes('x') }]);
    }
    expect(keysOf(backend, 'k', 'l')).toHaveLength(50);
    backend.close();
  });

  it('reports its size without walking the data', () => {
    const backend = engine.create();
    const empty = backend.size();
    backend.write(Array.from({ length: 2_000 }, (_, i) => ({ bucket: 'key' as const, key: `key-${i}`, value: new Uint8Array(100) })));
    backend.flush();
    const full = backend.size();
    expect(full.inUseBytes).toBeGreaterThan(empty.inUseBytes + 200_000);
    expect(full.totalBytes).toBeGreaterThanOrEqual(full.inUseBytes);
    backend.write(Array.from({ length: 2_000 }, (_, i) => ({ bucket: 'key' as const, key: `key-${i}`, value: null })));
    backend.flush();
    expect(backend.size().inUseBytes).toBeLessThan(full.inUseBytes / 4);
    if (engine.name === 'memory') {
      const fresh = engine.create();
      fresh.write([{ bucket: 'key', key: 'ab', value: new Uint8Array(3) }, { bucket: 'key', key: 'ab', value: new Uint8Array(5) }]);
      expect(fresh.size()).toEqual({ totalBytes: 7, inUseBytes: 7 }); // replaced, not added
      fresh.close();
    }
    backend.close();
  });

  it('keeps its total size through deletes, like a bbolt file, and gives it back only on defragment', async () => {
    const backend = engine.create();
    const value = new Uint8Array(500).fill(3);
    backend.write(Array.from({ length: 2_000 }, (_, i) => ({ bucket: 'key' as const, key: `key-${i}`, value })));
    backend.flush();
    const full = backend.size();
    backend.write(Array.from({ length: 1_990 }, (_, i) => ({ bucket: 'key' as const, key: `key-${i}`, value: null })));
    backend.flush();
    const deleted = backend.size();
    expect(deleted.totalBytes).toBeGreaterThanOrEqual(full.totalBytes);
    expect(deleted.inUseBytes).toBeLessThan(full.inUseBytes / 4);
    backend.write(Array.from({ length: 500 }, (_, i) => ({ bucket: 'key' as const, key: `again-${i}`, value })));
    backend.flush();
    // memory reuses freed space at once, as bbolt reuses freed pages; lmdb frees pages only once
    // no older transaction can see them, so its file may grow meanwhile.
    if (engine.name === 'memory') expect(backend.size().totalBytes).toBe(deleted.totalBytes);
    else expect(backend.size().totalBytes).toBeGreaterThanOrEqual(deleted.totalBytes);
    backend.write(Array.from({ length: 500 }, (_, i) => ({ bucket: 'key' as const, key: `again-${i}`, value: null })));
    backend.flush();
    await backend.defragment();
    const defragmented = backend.size();
    expect(defragmented.totalBytes).toBeLessThan(full.totalBytes / 4);
    expect(defragmented.totalBytes).toBeGreaterThanOrEqual(defragmented.inUseBytes);
    expect(keysOf(backend, 'key-', 'key.')).toEqual(Array.from({ length: 10 }, (_, i) => `key-${1_990 + i}`).sort());
    expect(backend.get('key', 'key-1999')).toEqual(value);
    backend.close();
  });

  it('refuses use after close', () => {
    const backend = engine.create();
    backend.close();
    expect(() => backend.get('key', 'a')).toThrow(BackendClosedError);
  });

  it('round-trips a snapshot into either engine and replaces all earlier contents', () => {
    const source = engine.create();
    source.write([
      { bucket: 'key', key: 'a', value: bytes('1') },
      { bucket: 'meta', key: 'applied', value: new Uint8Array([0, 255, 7]) },
      { bucket: 'lease', key: '\x00\x01', value: new Uint8Array(70_000).fill(9) },
    ]);
    const chunks = [...writeSnapshot(source, 1024)];
    expect(chunks.length).toBeGreaterThan(1);
    for (const target of engines) {
      const backend = target.create();
      backend.write([{ bucket: 'key', key: 'stale', value: bytes('x') }]);
      restoreSnapshot(backend, chunks);
      expect([...backend.entries()]).toEqual([...source.entries()]);
      backend.close();
    }
    source.close();
  });

  it('rejects a truncated, altered or extended snapshot stream', () => {
    const source = engine.create();
    source.write([{ bucket: 'key', key: 'a', value: bytes('hello') }]);
    const whole = Buffer.concat([...writeSnapshot(source)]);
    expect([...readSnapshot([whole])]).toHaveLength(1);
    expect(() => readSnapshot([whole.subarray(0, whole.length - 1)])).toThrow(SnapshotCorruptError);
    const flipped = Buffer.from(whole);
    flipped[whole.length - 12]! ^= 1;
    expect(() => readSnapshot([flipped])).toThrow(SnapshotCorruptError);
    expect(() => readSnapshot([whole, new Uint8Array([1])])).toThrow(SnapshotCorruptError);
    source.close();
  });

  it('rejects well-checksummed streams with bad framing', () => {
    const sealed = (body: number[]): Uint8Array => {
      const bytes = Buffer.concat([Buffer.from('CNVBKUP1', 'latin1'), Buffer.from(body)]);
      const crc = Buffer.alloc(4);
      crc.writeUInt32BE(crc32c(bytes));
      return Buffer.concat([bytes, crc]);
    };
    const record = (bucket: number): number[] => [bucket, 0, 0, 0, 1, 0x61, 0, 0, 0, 1, 0x7a];
    expect([...readSnapshot([sealed([...record(0), 0xff, 0, 0, 0, 1])])]).toHaveLength(1);
    expect(() => readSnapshot([sealed([...record(9), 0xff, 0, 0, 0, 1])])).toThrow(/unknown bucket index 9/);
    expect(() => readSnapshot([sealed([...record(0), 0xff, 0, 0, 0, 2])])).toThrow(/trailer count/);
    expect(() => readSnapshot([sealed([0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0, 0, 0, 1])])).toThrow(/empty key/);
    expect(() => readSnapshot([sealed([0, 0, 0, 0, 1, 0x61, 0, 0, 0, 9, 0xff, 0, 0, 0, 1])])).toThrow(SnapshotCorruptError);
  });
});
