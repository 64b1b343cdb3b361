// Method: the snapshot file format is damaged exhaustively (every single-bit flip, every
// truncation) and must always be rejected with ERR_SNAPSHOT_CORRUPT; the save protocol is
// checked on the simulated disk by losing power at each of its steps.
import { describe, expect, it } from 'vitest';
import { SnapshotCorruptError } from '../../src/storage/errors.js';
import { SimFileSystem } from '../../src/storage/sim-file-system.js';
import { decodeSnapshotFile, encodeSnapshotFile, snapshotFileName, SnapshotStore } from '../../src/storage/snapshot-store.js';
import { CONF } from './helpers/entries.js';

const snapshot = { metadata: { index: 1234, term: 7, confState: CONF }, data: Uint8Array.from({ length: 64 }, (_, i) => i * 3) };

describe('snapshot files', () => {
  it('round-trips, and rejects every single-bit flip and every truncation', () => {
    const bytes = encodeSnapshotFile(snapshot);
    expect(decodeSnapshotFile(bytes, 'f')).toEqual(snapshot);
    let rejected = 0;
    for (let byte = 0; byte < bytes.length; byte++) {
      for (let bit = 0; bit < 8; bit++) {
        const damaged = bytes.slice();
        damaged[byte]! ^= 1 << bit;
        expect(() => decodeSnapshotFile(damaged, 'f'), `bit ${bit} of byte ${byte}`).toThrow(SnapshotCorruptError);
        rejected += 1;
      }
    }
    for (let length = 0; length < bytes.length; length++) {
      expect(() => decodeSnapshotFile(bytes.subarray(0, length), 'f')).toThrow(SnapshotCorruptError);
    }
    expect(rejected).toBe(bytes.length * 8);
  });

  it('is either complete under its final name or absent, whatever step the power fails at', async () => {
    const probe = new SimFileSystem(1);
    await probe.mkdirp('/snap');
    probe.clearTrace();
    await new SnapshotStore(probe, '/snap', 1 << 20).save(snapshot);
    const steps = probe.trace.length;
    expect(probe.trace.map((op) => op.kind)).toEqual(['create', 'write', 'sync', 'rename', 'syncDir']);
    for (let step = 1; step <= steps + 1; step++) {
      for (const keepDirChanges of [false, true]) {
        const fs = new SimFileSystem(1);
        await fs.mkdirp('/snap');
        const store = new SnapshotStore(fs, '/snap', 1 << 20);
        fs.armCrash(fs.operations + step, { keepPendingOps: 'all', keepDirChanges, tornBytes: 50 });
        const saved = await store.save(snapshot).then(
          () => true,
          () => false,
        );
        if (saved) fs.crashNow();
        fs.reboot();
        const files = await store.list();
        expect(await fs.list('/snap'), `step ${step}`).not.toContainEqual(expect.stringMatching(/\.tmp$/));
        if (saved) expect(files.map((f) => f.name)).toEqual([snapshotFileName(7, 1234)]);
        for (const file of files) expect(await store.load(file)).toEqual(snapshot);
      }
    }
  });

  it('refuses a file whose name does not match its content, and one over maxSnapshotBytes', async () => {
    const fs = new SimFileSystem(2);
    await fs.mkdirp('/snap');
    const store = new SnapshotStore(fs, '/snap', 1 << 20);
    const file = await store.save(snapshot);
    await fs.rename(file.path, `/snap/${snapshotFileName(7, 1235)}`);
    const [renamed] = await store.list();
    await expect(store.load(renamed!)).rejects.toThrow(/name says 1235/);
    await expect(new SnapshotStore(fs, '/snap', 1024).save({ ...snapshot, data: new Uint8Array(2000) })).rejects.toMatchObject({ code: 'ERR_STORAGE_RECORD_TOO_LARGE' });
  });
});
