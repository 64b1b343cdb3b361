import { describe, expect, it } from 'vitest';
import { FaultInjectingFileSystem, SimFileSystem } from '../../src/storage/index.js';

describe('FaultInjectingFileSystem', () => {
  it('passes everything through while no fault is on, then fails writes and syncs with the chosen code', async () => {
    let fault: string | undefined;
    const fs = new FaultInjectingFileSystem(new SimFileSystem(1), () => fault);
    await fs.mkdirp('/d');
    const file = await fs.create('/d/f');
    await file.write(0, new Uint8Array([1, 2, 3]));
    await file.sync();
    fault = 'EIO';
    await expect(file.write(3, new Uint8Array([4]))).rejects.toMatchObject({ code: 'EIO', syscall: 'write', path: '/d/f' });
    await expect(file.sync()).rejects.toMatchObject({ code: 'EIO', syscall: 'sync' });
    fault = 'ENOSPC';
    await expect(fs.create('/d/g')).rejects.toMatchObject({ code: 'ENOSPC' });
    await expect(fs.syncDir('/d')).rejects.toMatchObject({ code: 'ENOSPC' });
    // Reads are never refused, and nothing was written by the failed calls.
    expect([...(await file.read(0, 10))]).toEqual([1, 2, 3]);
    fault = undefined;
    await file.write(3, new Uint8Array([4]));
    expect([...(await fs.readFile('/d/f'))]).toEqual([1, 2, 3, 4]);
  });
});
