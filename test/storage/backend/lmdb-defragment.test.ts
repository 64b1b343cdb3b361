// The lmdb engine's defragment gives the space of deleted data back (a compacting copy swapped
// in atomically), keeps every live entry, keeps the writes made while the copy ran, and a copy
// left by a crash mid-way is discarded on open.
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LmdbBackend } from '../../../src/storage/backend/lmdb-backend.js';

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function freshPath(): string {
  const dir = mkdtempSync(join(tmpdir(), 'conclave-defrag-'));
  dirs.push(dir);
  const path = join(dir, 'backend');
  mkdirSync(path);
  return path;
}

const value = new Uint8Array(2000).fill(7);
const key = (i: number): string => `k${String(i).padStart(6, '0')}`;

describe('LmdbBackend.defragment', () => {
  it('shrinks the file after deletes, keeps live entries and writes made during the copy', async () => {
    const path = freshPath();
    const backend = new LmdbBackend({ path, batchOps: 1000 });
    for (let i = 0; i < 5000; i++) backend.write([{ bucket: 'key', key: key(i), value }]);
    backend.flush();
    for (let i = 0; i < 4900; i++) backend.write([{ bucket: 'key', key: key(i), value: null }]);
    backend.flush();
    const before = statSync(join(path, 'data.mdb')).size;
    const running = backend.defragment();
    backend.write([{ bucket: 'key', key: 'during', value: new Uint8Array([1, 2, 3]) }]);
    expect(backend.get('key', 'during')).toEqual(new Uint8Array([1, 2, 3]));
    await running;
    const after = statSync(join(path, 'data.mdb')).size;
    expect(after).toBeLessThan(before / 10);
    expect(backend.size().totalBytes).toBeLessThan(before / 10);
    expect([...backend.range('key', 'k')].length).toBe(100);
    expect(backend.get('key', 'during')).toEqual(new Uint8Array([1, 2, 3]));
    expect(existsSync(`${path}.defrag`)).toBe(false);
    backend.close();
    const reopened = new LmdbBackend({ path });
    expect([...reopened.range('key', '')].length).toBe(101);
    expect(reopened.get('key', key(4999))).toEqual(value);
    reopened.close();
  });

  it('discards a half-made copy left by a crash and opens the original', () => {
    const path = freshPath();
    const backend = new LmdbBackend({ path });
    backend.write([{ bucket: 'key', key: 'a', value: new Uint8Array([9]) }]);
    backend.close();
    mkdirSync(`${path}.defrag`);
    writeFileSync(join(`${path}.defrag`, 'data.mdb'), 'torn');
    const reopened = new LmdbBackend({ path });
    expect(reopened.get('key', 'a')).toEqual(new Uint8Array([9]));
    expect(existsSync(`${path}.defrag`)).toBe(false);
    reopened.close();
  });
});
