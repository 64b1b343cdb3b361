// Method: one conformance suite run against both adapters of the FileSystem port (the real one
// on a temporary directory, the simulated one in memory), so the simulated disk the crash tests
// rely on behaves like the real one wherever no fault is injected.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { FileSystem } from '../../src/storage/file-system.js';
import { dirOf, joinPath } from '../../src/storage/file-system.js';
import { NodeFileSystem } from '../../src/storage/node-file-system.js';
import { SimFileSystem } from '../../src/storage/sim-file-system.js';

const scratch = mkdtempSync(join(tmpdir(), 'conclave-fs-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const adapters: [string, () => { fs: FileSystem; root: string }][] = [
  ['NodeFileSystem', () => ({ fs: new NodeFileSystem(), root: mkdtempSync(join(scratch, 'n-')) })],
  ['SimFileSystem', () => ({ fs: new SimFileSystem(1), root: '/root' })],
];

describe.each(adapters)('%s', (_name, make) => {
  it('creates, writes at offsets, reads back, and reports sizes', async () => {
    const { fs, root } = make();
    const dir = joinPath(root, 'a/b');
    await fs.mkdirp(dir);
    const file = await fs.create(joinPath(dir, 'f'));
    await file.write(0, Uint8Array.from([1, 2, 3]));
    await file.write(5, Uint8Array.from([9]));
    await file.sync();
    expect(await file.sizeBytes()).toBe(6);
    expect([...(await file.read(0, 10))]).toEqual([1, 2, 3, 0, 0, 9]);
    expect([...(await file.read(2, 2))]).toEqual([3, 0]);
    await file.allocate(16);
    expect(await file.sizeBytes()).toBe(16);
    await file.allocate(8);
    expect(await file.sizeBytes()).toBe(16);
    await file.truncate(2);
    expect([...(await fs.readFile(joinPath(dir, 'f')))]).toEqual([1, 2]);
    await file.close();
    const again = await fs.create(joinPath(dir, 'f'));
    expect(await again.sizeBytes()).toBe(0);
    await again.close();
  });

  it('lists sorted names, renames over an existing name, removes, and syncs directories', async () => {
    const { fs, root } = make();
    await fs.mkdirp(root);
    for (const name of ['c', 'a', 'b']) await (await fs.create(joinPath(root, name))).close();
    expect(await fs.list(root)).toEqual(['a', 'b', 'c']);
    await fs.rename(joinPath(root, 'a'), joinPath(root, 'c'));
    await fs.remove(joinPath(root, 'b'));
    await fs.syncDir(root);
    expect(await fs.list(root)).toEqual(['c']);
  });

  it('fails with Node error codes for missing files', async () => {
    const { fs, root } = make();
    await fs.mkdirp(root);
    await expect(fs.open(joinPath(root, 'missing'))).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(fs.readFile(joinPath(root, 'missing'))).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(fs.remove(joinPath(root, 'missing'))).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(fs.list(joinPath(root, 'nope'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('path helpers', () => {
  it('split and join POSIX paths', () => {
    expect(dirOf('/a/b/c')).toBe('/a/b');
    expect(dirOf('/a')).toBe('/');
    expect(dirOf('a')).toBe('.');
    expect(joinPath('/a/', 'b')).toBe('/a/b');
    expect(joinPath('/a', 'b')).toBe('/a/b');
  });
});
