// Method: the WAL writer on the simulated disk, whose operation trace shows exactly how many
// writes and fdatasyncs each workload cost. Group commit, fail-stop on write/fsync errors,
// bounded queues, segment cuts and releases are each driven directly and checked on reopen.
import { describe, expect, it } from 'vitest';
import { InvalidOptionError } from '../../src/base/errors.js';
import { RecordTooLargeError, StorageClosedError, StorageFatalError, WalBackpressureError } from '../../src/storage/errors.js';
import { resolveStorageOptions } from '../../src/storage/options.js';
import type { StorageOptions } from '../../src/storage/options.js';
import { SimFileSystem } from '../../src/storage/sim-file-system.js';
import { Wal } from '../../src/storage/wal.js';
import { makeEntries, makeEntry } from './helpers/entries.js';

async function openWal(fs: SimFileSystem, extra: StorageOptions = {}) {
  const fatal: StorageFatalError[] = [];
  await fs.mkdirp('/w');
  const options = resolveStorageOptions({ segmentBytes: 64 * 1024, onFatal: (error) => fatal.push(error), ...extra });
  const opened = await Wal.open(fs, '/w', options);
  return { ...opened, fatal };
}

// fdatasyncs of log segments (the background pre-allocation of the next segment is not counted).
const syncs = (fs: SimFileSystem) => fs.trace.filter((op) => op.kind === 'sync' && op.path.endsWith('.wal')).length;

describe('Wal', () => {
  it('group-commits concurrent appends: 64 writers share two fdatasyncs', async () => {
    const fs = new SimFileSystem(1);
    const { wal } = await openWal(fs);
    fs.clearTrace();
    await Promise.all(Array.from({ length: 64 }, (_, i) => wal.append({ entries: [makeEntry(i + 1)] })));
    // The first append starts a batch alone; the other 63 queue behind its fsync and go together.
    expect(syncs(fs)).toBe(2);
    expect(wal.stats).toMatchObject({ appends: 64, batches: 2, fsyncs: 2, records: 64 });
    await wal.close();
    const reopened = await openWal(fs);
    expect(reopened.replay.entries.map((e) => e.index)).toEqual(Array.from({ length: 64 }, (_, i) => i + 1));
  });

  it('a sequential writer pays exactly one fdatasync per batch, never one per record', async () => {
    const fs = new SimFileSystem(2);
    const { wal } = await openWal(fs);
    fs.clearTrace();
    for (let batch = 0; batch < 10; batch++) {
      await wal.append({ entries: makeEntries(batch * 20 + 1, 20), hardState: { term: 1, vote: 1n, commit: batch * 20 } });
    }
    expect(syncs(fs)).toBe(10);
    expect(fs.trace.filter((op) => op.kind === 'write' && op.path.endsWith('.wal')).length).toBe(10);
    expect(wal.stats.records).toBe(210);
  });

  it('an fsync failure in the middle of a batch acknowledges no record of it and stops the WAL for good', async () => {
    const fs = new SimFileSystem(3);
    const { wal, fatal } = await openWal(fs);
    // Eight appends made durable together, then eight more whose shared fdatasync fails.
    await Promise.all(Array.from({ length: 8 }, (_, i) => wal.append({ entries: [makeEntry(i + 1)] })));
    fs.failNext('sync', 'EIO');
    fs.clearTrace();
    const outcomes = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => wal.append({ entries: [makeEntry(i + 9)] })));
    // One batch: one write of all eight, one fdatasync (the failing one), nothing after it.
    expect(fs.trace.filter((op) => op.path.endsWith('.wal')).map((op) => op.kind)).toEqual(['write', 'sync']);
    for (const outcome of outcomes) {
      expect(outcome.status).toBe('rejected');
      const reason = (outcome as PromiseRejectedResult).reason as StorageFatalError;
      expect(reason).toBeInstanceOf(StorageFatalError);
      expect(reason.code).toBe('ERR_STORAGE_FATAL_IO');
      // The segment is written with O_DSYNC: the write reports its flush's failure.
      expect(reason.operation).toBe('write+fdatasync');
      expect(reason.message).toMatch(/EIO/);
    }
    expect(fatal).toHaveLength(1);
    // Never retried: nothing more is written, every later call is refused.
    const before = fs.operations;
    await expect(wal.append({ entries: [makeEntry(17)] })).rejects.toBeInstanceOf(StorageClosedError);
    await expect(wal.releaseTo(5)).rejects.toBeInstanceOf(StorageClosedError);
    expect(fs.operations).toBe(before);
    // After the power loss the fsync failure implies, the acknowledged entries are all there.
    fs.crashNow();
    fs.reboot();
    const reopened = await openWal(fs);
    expect(reopened.replay.entries.map((e) => e.index)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('a failed write (ENOSPC) is fatal too, and the queued appends behind it fail with it', async () => {
    const fs = new SimFileSystem(4);
    const { wal, fatal } = await openWal(fs);
    fs.failNext('write', 'ENOSPC');
    const outcomes = await Promise.allSettled(Array.from({ length: 5 }, (_, i) => wal.append({ entries: [makeEntry(i + 1)] })));
    expect(outcomes.every((o) => o.status === 'rejected' && (o.reason as StorageFatalError).operation === 'write+fdatasync')).toBe(true);
    expect(fatal[0]!.message).toMatch(/ENOSPC/);
  });

  it('bounds the queue: beyond maxPendingBytes appends fail fast with a retryable error', async () => {
    const fs = new SimFileSystem(5);
    const { wal } = await openWal(fs, { maxPendingBytes: 8 * 1024, maxRecordBytes: 4 * 1024 });
    const calls = Array.from({ length: 20 }, (_, i) => wal.append({ entries: [makeEntry(i + 1, 1, 1000)] }));
    const outcomes = await Promise.allSettled(calls);
    const refused = outcomes.filter((o) => o.status === 'rejected').map((o) => (o as PromiseRejectedResult).reason as WalBackpressureError);
    expect(refused.length).toBeGreaterThan(0);
    expect(refused.every((e) => e instanceof WalBackpressureError && e.retryable)).toBe(true);
    await expect(wal.append({ entries: [makeEntry(99, 1, 5000)] })).rejects.toBeInstanceOf(RecordTooLargeError);
    await wal.append({ entries: [makeEntry(100)] });
  });

  it('cuts pre-allocated segments that repeat the hard state, and releases only fully covered ones', async () => {
    const fs = new SimFileSystem(6);
    const { wal } = await openWal(fs, { segmentBytes: 4096 });
    for (let i = 1; i <= 200; i += 10) await wal.append({ entries: makeEntries(i, 10, 2, 60), hardState: { term: 2, vote: 3n, commit: i } });
    const segments = wal.segmentFiles();
    expect(segments.length).toBeGreaterThan(4);
    for (const name of (await fs.list('/w')).filter((n) => n.endsWith('.wal'))) expect(fs.durableContent(`/w/${name}`)!.length).toBeGreaterThanOrEqual(4096);
    // Every entry of segments 0..2 is below segments[3].firstIndex; one index less keeps segment 2.
    const cutAt = segments[3]!.firstIndex;
    await wal.releaseTo(cutAt - 2);
    expect(wal.segmentFiles()[0]!.firstIndex).toBe(segments[2]!.firstIndex);
    await wal.releaseTo(cutAt - 1);
    expect(wal.segmentFiles()[0]!.firstIndex).toBe(segments[3]!.firstIndex);
    expect(await fs.list('/w')).not.toContain(segments[2]!.name);
    await wal.releaseTo(10_000);
    expect(wal.segmentFiles()).toHaveLength(1);
    await wal.close();
    const reopened = await openWal(fs, { segmentBytes: 4096 });
    // The only segment left starts with a preamble holding the hard state.
    expect(reopened.replay.hardState).toEqual({ term: 2, vote: 3n, commit: 191 });
    expect(reopened.replay.entries[0]!.index).toBe(reopened.wal.segmentFiles()[0]!.firstIndex);
  });

  it('validates its limits and names the option', () => {
    expect(() => resolveStorageOptions({ segmentBytes: 10 })).toThrow(InvalidOptionError);
    expect(() => resolveStorageOptions({ segmentBytes: 10 })).toThrow(/segmentBytes/);
    expect(() => resolveStorageOptions({ snapshotsKept: 0 })).toThrow(/snapshotsKept/);
    expect(() => resolveStorageOptions({ maxRecordBytes: 1.5 })).toThrow(/maxRecordBytes/);
    expect(() => resolveStorageOptions({ maxRecordBytes: 1 << 20, maxPendingBytes: 8192 })).toThrow(/maxPendingBytes/);
    expect(resolveStorageOptions().segmentBytes).toBe(64 * 1024 * 1024);
  });
});

describe('Wal commit-index-only batches (mustSync false)', () => {
  it('cost no disk work of their own, and become durable with the next synced batch', async () => {
    const fs = new SimFileSystem(7);
    const { wal } = await openWal(fs);
    fs.clearTrace();
    await wal.append({ hardState: { term: 1, vote: 1n, commit: 0 } });
    await wal.append({ hardState: { term: 1, vote: 1n, commit: 1 }, sync: false });
    expect(fs.trace.filter((op) => op.path.endsWith('.wal')).map((op) => op.kind)).toEqual(['write', 'sync']);
    fs.crashNow();
    fs.reboot();
    let reopened = await openWal(fs);
    expect(reopened.replay.hardState.commit).toBe(0);
    await reopened.wal.append({ hardState: { term: 1, vote: 1n, commit: 2 }, sync: false });
    await reopened.wal.append({ entries: [makeEntry(1)] });
    fs.crashNow();
    fs.reboot();
    reopened = await openWal(fs);
    expect(reopened.replay.hardState.commit).toBe(2);
    expect(reopened.replay.entries).toHaveLength(1);
  });

  it('ride along with a batch still queued, in order, with no extra write', async () => {
    const fs = new SimFileSystem(17);
    const { wal } = await openWal(fs);
    fs.clearTrace();
    const first = wal.append({ entries: [makeEntry(1)], hardState: { term: 1, vote: 1n, commit: 0 } });
    const second = wal.append({ entries: [makeEntry(2)] });
    await wal.append({ hardState: { term: 1, vote: 1n, commit: 1 }, sync: false });
    const third = wal.append({ entries: [makeEntry(3)], hardState: { term: 1, vote: 1n, commit: 2 } });
    await Promise.all([first, second, third]);
    fs.crashNow();
    fs.reboot();
    const reopened = await openWal(fs);
    expect(reopened.replay.hardState.commit).toBe(2);
    expect(reopened.replay.entries.map((e) => e.index)).toEqual([1, 2, 3]);
    expect(wal.stats.fsyncs).toBe(fs.trace.filter((op) => op.kind === 'sync' && op.path.endsWith('.wal')).length);
  });

  it('are carried into the next segment\'s preamble on a cut, and written on close', async () => {
    const fs = new SimFileSystem(8);
    const { wal } = await openWal(fs, { segmentBytes: 4096 });
    for (let i = 1; i <= 60; i++) {
      await wal.append({ entries: [makeEntry(i, 1, 100)] });
      await wal.append({ hardState: { term: 1, vote: 1n, commit: i }, sync: false });
    }
    expect(wal.stats.segmentsCut).toBeGreaterThan(0);
    // Every write to a segment is durable before the next segment is renamed in.
    for (let i = 1; i < fs.trace.length; i++) {
      const op = fs.trace[i]!;
      if (op.kind !== 'rename' || !op.path.includes('.wal.tmp')) continue;
      const writes = fs.trace.slice(0, i).filter((o) => o.kind === 'write' && o.path.endsWith('.wal') && !op.path.endsWith(o.path));
      const lastWrite = writes[writes.length - 1];
      if (lastWrite === undefined) continue;
      expect(fs.trace.slice(fs.trace.indexOf(lastWrite), i).some((o) => o.kind === 'sync' && o.path === lastWrite.path), `cut at op ${op.op}`).toBe(true);
    }
    await wal.close();
    fs.crashNow();
    fs.reboot();
    const reopened = await openWal(fs, { segmentBytes: 4096 });
    expect(reopened.replay.hardState.commit).toBe(60);
    expect(reopened.replay.entries).toHaveLength(60);
  });
});

describe('Wal limits on reopen', () => {
  it('still reads records larger than a since-lowered maxRecordBytes', async () => {
    const fs = new SimFileSystem(9);
    const { wal } = await openWal(fs, { maxRecordBytes: 64 * 1024 });
    await wal.append({ entries: [makeEntry(1, 1, 40 * 1024)] });
    await wal.close();
    const reopened = await openWal(fs, { maxRecordBytes: 1024 });
    expect(reopened.replay.entries[0]!.data.length).toBe(40 * 1024);
    await expect(reopened.wal.append({ entries: [makeEntry(2, 1, 40 * 1024)] })).rejects.toBeInstanceOf(RecordTooLargeError);
  });
});
