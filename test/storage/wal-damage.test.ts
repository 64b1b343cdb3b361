// Method: damage a real WAL written by DiskStorage on the simulated disk, then reopen.
// (1) Tear the last write at every byte: every reopen must succeed with all acknowledged
//     entries, a torn record must be repaired (truncated, original kept as .broken), and the
//     repaired log must take new writes. (2) Flip one random bit inside every record of every
//     segment, the newest record included: every reopen must refuse with ERR_WAL_CORRUPT naming
//     that segment and that record's offset.
import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../src/base/random.js';
import type { Entry } from '../../src/raft/types.js';
import { DiskStorage } from '../../src/storage/disk-storage.js';
import { WalCorruptError } from '../../src/storage/errors.js';
import type { StorageOptions } from '../../src/storage/options.js';
import { SimFileSystem } from '../../src/storage/sim-file-system.js';
import { scanRecords } from '../../src/storage/wal-record.js';
import { makeEntries } from './helpers/entries.js';

const options: StorageOptions = { segmentBytes: 4096, onFatal: () => undefined };

async function writeLog(fs: SimFileSystem, saves: number): Promise<DiskStorage> {
  const storage = await DiskStorage.open(fs, '/data', options);
  for (let i = 0; i < saves; i++) {
    await storage.save({ entries: makeEntries(i * 3 + 1, 3, 1, 20 + ((i * 37) % 200)), hardState: { term: 1, vote: 1n, commit: i * 3 } });
  }
  return storage;
}

describe('WAL damage', () => {
  it('repairs a tear of the last write at every byte, keeping every acknowledged entry', async () => {
    const probe = new SimFileSystem(1);
    const storage = await writeLog(probe, 30);
    probe.clearTrace();
    await storage.save({ entries: makeEntries(91, 4, 1, 150), hardState: { term: 1, vote: 1n, commit: 90 } });
    const write = probe.trace.find((op) => op.kind === 'write')!;
    const expected = writeLogEntries();
    let repaired = 0;
    let clean = 0;
    for (let kept = 0; kept < write.bytes; kept++) {
      const fs = new SimFileSystem(1);
      const before = await writeLog(fs, 30);
      fs.armCrash(fs.operations + 1, { keepPendingOps: 'all', tornBytes: kept });
      await expect(before.save({ entries: makeEntries(91, 4, 1, 150) })).rejects.toThrow();
      fs.reboot();
      const after = await DiskStorage.open(fs, '/data', options);
      expect(after.lastIndex(), `tear after ${kept} bytes`).toBeGreaterThanOrEqual(90);
      expect(sameEntries(after.entries(1, 91, Infinity), expected), `tear after ${kept} bytes`).toBe(true);
      if (after.recovery.walRepair !== undefined) {
        repaired += 1;
        expect(await fs.list('/data/wal')).toContain(`${after.recovery.walRepair.file.split('/').pop()}.broken`);
      } else {
        clean += 1;
      }
      await after.save({ entries: makeEntries(after.lastIndex() + 1, 1) });
      await after.close();
      const again = await DiskStorage.open(fs, '/data', options);
      expect(again.recovery.walRepair).toBeUndefined();
      await again.close();
    }
    console.log(`torn tail: ${write.bytes} tear points, ${repaired} repaired, ${clean} ended cleanly at a record boundary`);
    expect(repaired + clean).toBe(write.bytes);
    expect(repaired).toBeGreaterThan(write.bytes * 0.9);
  });

  it('refuses to start, naming the file and offset, for a flipped bit in any record of any segment', async () => {
    const reference = new SimFileSystem(2);
    await (await writeLog(reference, 40)).close();
    const segments = (await reference.list('/data/wal')).filter((name) => name.endsWith('.wal'));
    expect(segments.length).toBeGreaterThan(3);
    const random = new SeededRandom(2);
    let refused = 0;
    let records = 0;
    for (const name of segments) {
      const path = `/data/wal/${name}`;
      const offsets: { offset: number; size: number }[] = [];
      const bytes = reference.durableContent(path)!;
      scanRecords(bytes, 1 << 20, (record) => offsets.push({ offset: record.offset, size: 0 }));
      offsets.forEach((record, i) => (record.size = (offsets[i + 1]?.offset ?? endOfData(bytes)) - record.offset));
      for (const { offset, size } of offsets) {
        records += 1;
        const fs = new SimFileSystem(2);
        await (await writeLog(fs, 40)).close();
        fs.flipBit(path, offset + random.int(size), random.int(8));
        const error = await DiskStorage.open(fs, '/data', options).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error, `${name} record at ${offset}`).toBeInstanceOf(WalCorruptError);
        expect((error as WalCorruptError).file).toBe(path);
        expect((error as WalCorruptError).offset).toBe(offset);
        expect((error as WalCorruptError).message).toContain(`${path} at offset ${offset}`);
        refused += 1;
      }
    }
    console.log(`mid-log corruption: ${records} records damaged in ${segments.length} segments, ${refused} refused to start`);
    expect(refused).toBe(records);
  });
});

describe('WAL repair evidence', () => {
  it('keeps the .broken copy of every repair of the same segment', async () => {
    const fs = new SimFileSystem(3);
    let storage = await writeLog(fs, 3);
    for (let round = 0; round < 3; round++) {
      fs.armCrash(fs.operations + 1, { keepPendingOps: 'all', tornBytes: 30 });
      await expect(storage.save({ entries: makeEntries(storage.lastIndex() + 1, 2, 1, 100) })).rejects.toThrow();
      fs.reboot();
      storage = await DiskStorage.open(fs, '/data', options);
      expect(storage.recovery.walRepair).toBeDefined();
    }
    const broken = (await fs.list('/data/wal')).filter((name) => name.includes('.broken'));
    expect(broken.map((name) => name.replace(/^[0-9a-f-]+\.wal/, ''))).toEqual(['.broken', '.broken.1', '.broken.2']);
  });
});

function writeLogEntries() {
  return Array.from({ length: 30 }, (_, i) => makeEntries(i * 3 + 1, 3, 1, 20 + ((i * 37) % 200))).flat();
}

function sameEntries(a: readonly Entry[], b: readonly Entry[]): boolean {
  return a.length === b.length && a.every((e, i) => e.index === b[i]!.index && e.term === b[i]!.term && Buffer.from(e.data).equals(Buffer.from(b[i]!.data)));
}

function endOfData(bytes: Uint8Array): number {
  let end = 0;
  scanRecords(bytes, 1 << 20, (record) => (end = record.offset + Math.ceil((12 + record.payload.length + 8) / 8) * 8));
  return end;
}
