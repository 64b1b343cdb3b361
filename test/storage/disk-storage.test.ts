// Method: DiskStorage on the simulated disk, compared with what Raft expects of a Storage
// (MemoryStorage semantics): every write is followed by a power loss that keeps only synced
// data, then a reopen whose reads must match what was acknowledged. Snapshot fallback and the
// refusals are driven by damaging specific files.
import { describe, expect, it } from 'vitest';
import { LogCompactedError } from '../../src/raft/errors.js';
import { DiskStorage } from '../../src/storage/disk-storage.js';
import type { StorageOptions } from '../../src/storage/options.js';
import { StorageUnrecoverableError } from '../../src/storage/errors.js';
import { SimFileSystem } from '../../src/storage/sim-file-system.js';
import { CONF, makeEntries } from './helpers/entries.js';

const options: StorageOptions = { segmentBytes: 4096, catchUpEntries: 5, onFatal: () => undefined };

async function reopenAfterPowerLoss(fs: SimFileSystem, storage: DiskStorage): Promise<DiskStorage> {
  fs.crashNow();
  await storage.close().catch(() => undefined);
  fs.reboot();
  return DiskStorage.open(fs, '/data', options);
}

describe('DiskStorage', () => {
  it('starts empty, persists entries and hard state, and reads them back after a power loss', async () => {
    const fs = new SimFileSystem(1);
    let storage = await DiskStorage.open(fs, '/data', options);
    expect(storage.initialState().hardState).toEqual({ term: 0, vote: 0n, commit: 0 });
    expect([storage.firstIndex(), storage.lastIndex()]).toEqual([1, 0]);
    for (let i = 1; i <= 100; i += 10) await storage.save({ entries: makeEntries(i, 10), hardState: { term: 1, vote: 2n, commit: i + 9 } });
    storage = await reopenAfterPowerLoss(fs, storage);
    expect(storage.initialState().hardState).toEqual({ term: 1, vote: 2n, commit: 100 });
    expect(storage.entries(1, 101, Infinity)).toEqual(makeEntries(1, 100));
    expect(storage.term(50)).toBe(1);
    expect(storage.walSegmentNames().length).toBeGreaterThan(1);
  });

  it('replays a follower log repair: a conflicting suffix overwritten by a newer term', async () => {
    const fs = new SimFileSystem(2);
    let storage = await DiskStorage.open(fs, '/data', options);
    await storage.save({ entries: makeEntries(1, 10, 1), hardState: { term: 1, vote: 1n, commit: 5 } });
    await storage.save({ entries: makeEntries(6, 3, 2), hardState: { term: 2, vote: 3n, commit: 5 } });
    expect(storage.lastIndex()).toBe(8);
    storage = await reopenAfterPowerLoss(fs, storage);
    expect(storage.lastIndex()).toBe(8);
    expect(storage.entries(1, 9, Infinity)).toEqual([...makeEntries(1, 5, 1), ...makeEntries(6, 3, 2)]);
  });

  it('installs a snapshot from the leader, which replaces the whole log, durably', async () => {
    const fs = new SimFileSystem(3);
    let storage = await DiskStorage.open(fs, '/data', options);
    await storage.save({ entries: makeEntries(1, 20, 1), hardState: { term: 1, vote: 1n, commit: 3 } });
    const snapshot = { metadata: { index: 50, term: 3, confState: CONF }, data: new Uint8Array([1, 2, 3]) };
    await storage.save({ snapshot, hardState: { term: 3, vote: 0n, commit: 50 } });
    expect([storage.firstIndex(), storage.lastIndex()]).toEqual([51, 50]);
    await storage.save({ entries: makeEntries(51, 5, 3) });
    storage = await reopenAfterPowerLoss(fs, storage);
    expect(storage.recovery.snapshotIndex).toBe(50);
    expect(storage.snapshot()).toEqual(snapshot);
    expect(storage.initialState()).toEqual({ hardState: { term: 3, vote: 0n, commit: 50 }, confState: CONF });
    expect([storage.firstIndex(), storage.lastIndex()]).toEqual([51, 55]);
    expect(() => storage.term(20)).toThrow(LogCompactedError);
  });

  it('makes snapshots, keeps catch-up entries in memory, and releases old WAL segments and snapshot files', async () => {
    const fs = new SimFileSystem(4);
    let storage = await DiskStorage.open(fs, '/data', options);
    for (let i = 1; i <= 300; i += 10) {
      await storage.save({ entries: makeEntries(i, 10, 1, 60), hardState: { term: 1, vote: 1n, commit: i + 9 } });
      if ((i + 9) % 100 === 0) await storage.createSnapshot(i + 9, CONF, new Uint8Array([i]));
    }
    expect(storage.firstIndex()).toBe(300 - 5 + 1);
    expect(await fs.list('/data/snap')).toEqual(['0000000000000001-00000000000000c8.snap', '0000000000000001-000000000000012c.snap']);
    const stats = storage.walStats();
    expect(stats.segmentsReleased).toBeGreaterThan(0);
    // Only segments holding entries above the oldest kept snapshot (200) remain.
    expect(storage.walSegmentNames().length).toBeLessThan(stats.segmentsCut + 1);
    storage = await reopenAfterPowerLoss(fs, storage);
    expect(storage.recovery).toMatchObject({ snapshotIndex: 300, firstIndex: 301, lastIndex: 300, skippedSnapshots: [] });
    expect(storage.snapshot().data).toEqual(new Uint8Array([291]));
  });

  it('falls back to the older snapshot when the newest file is damaged, and moves the damaged one aside', async () => {
    const fs = new SimFileSystem(5);
    let storage = await DiskStorage.open(fs, '/data', options);
    for (let i = 1; i <= 300; i += 10) {
      await storage.save({ entries: makeEntries(i, 10), hardState: { term: 1, vote: 1n, commit: i + 9 } });
      if ((i + 9) % 100 === 0) await storage.createSnapshot(i + 9, CONF, new Uint8Array(100).fill(i));
    }
    fs.flipBit('/data/snap/0000000000000001-000000000000012c.snap', 60, 0);
    storage = await reopenAfterPowerLoss(fs, storage);
    expect(storage.recovery.snapshotIndex).toBe(200);
    expect(storage.recovery.skippedSnapshots[0]).toMatch(/ERR_SNAPSHOT_CORRUPT|checksum mismatch/);
    expect([storage.firstIndex(), storage.lastIndex()]).toEqual([201, 300]);
    expect(storage.entries(201, 301, Infinity)).toEqual(makeEntries(201, 100));
    expect(await fs.list('/data/snap')).toContain('0000000000000001-000000000000012c.snap.broken');
  });

  it('refuses to start when no snapshot is usable and the WAL does not reach back to the beginning', async () => {
    const fs = new SimFileSystem(6);
    const storage = await DiskStorage.open(fs, '/data', options);
    for (let i = 1; i <= 300; i += 10) {
      await storage.save({ entries: makeEntries(i, 10, 1, 60), hardState: { term: 1, vote: 1n, commit: i + 9 } });
      if ((i + 9) % 100 === 0) await storage.createSnapshot(i + 9, CONF, new Uint8Array([1]));
    }
    await storage.close();
    for (const name of await fs.list('/data/snap')) fs.flipBit(`/data/snap/${name}`, 30, 1);
    await expect(DiskStorage.open(fs, '/data', options)).rejects.toBeInstanceOf(StorageUnrecoverableError);
  });

  it('refuses to start with snapshot files but no WAL (it would forget its vote)', async () => {
    const fs = new SimFileSystem(7);
    const storage = await DiskStorage.open(fs, '/data', options);
    await storage.save({ entries: makeEntries(1, 10), hardState: { term: 1, vote: 1n, commit: 10 } });
    await storage.createSnapshot(10, CONF, new Uint8Array([1]));
    await storage.close();
    for (const name of await fs.list('/data/wal')) await fs.remove(`/data/wal/${name}`);
    await expect(DiskStorage.open(fs, '/data', options)).rejects.toThrow(/no WAL segment/);
  });

  it('refuses updates the cache could not take, before writing anything', async () => {
    const fs = new SimFileSystem(8);
    const storage = await DiskStorage.open(fs, '/data', options);
    await storage.save({ entries: makeEntries(1, 5) });
    const before = fs.operations;
    await expect(storage.save({ entries: makeEntries(8, 2) })).rejects.toThrow(/gap/);
    await expect(storage.createSnapshot(9, CONF, new Uint8Array())).rejects.toThrow(/unavailable/);
    expect(fs.operations).toBe(before);
    await storage.save({ entries: makeEntries(6, 2) });
    expect(storage.lastIndex()).toBe(7);
  });

  it('honours mustSync false only when no entries or snapshot come with it', async () => {
    const fs = new SimFileSystem(9);
    const storage = await DiskStorage.open(fs, '/data', options);
    await storage.save({ entries: makeEntries(1, 3), hardState: { term: 1, vote: 1n, commit: 1 } });
    fs.clearTrace();
    await storage.save({ hardState: { term: 1, vote: 1n, commit: 3 }, mustSync: false });
    expect(fs.trace.filter((op) => op.kind === 'sync' && op.path.endsWith('.wal'))).toHaveLength(0);
    expect(storage.initialState().hardState.commit).toBe(3);
    await storage.save({ entries: makeEntries(4, 1), mustSync: false });
    expect(fs.trace.filter((op) => op.kind === 'sync' && op.path.endsWith('.wal'))).toHaveLength(1);
    const reopened = await reopenAfterPowerLoss(fs, storage);
    expect(reopened.initialState().hardState.commit).toBe(3);
    expect(reopened.lastIndex()).toBe(4);
  });
});
