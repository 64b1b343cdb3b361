import type { Logger } from '../base/logger.js';
import { ConclaveError } from '../base/errors.js';
import { StorageFatalError, WalCorruptError } from './errors.js';
import type { FileSystem } from './file-system.js';
import { joinPath } from './file-system.js';
import { decodeEntry, decodeHardState } from './raft-codec.js';
import { RecordType, recordBytes, scanRecords } from './wal-record.js';
import type { ScanEnd, ScannedRecord } from './wal-record.js';
import { decodeSegmentHeader, decodeSnapshotMarker, parseSegmentName } from './wal-payloads.js';
import { WalReplay } from './wal-replay.js';

/**
 * Opening the WAL: read and verify every segment, replay the records, and repair a torn tail
 * of the last segment. Anything else that does not verify refuses to start with a
 * WalCorruptError naming the file and the byte offset.
 */

export interface WalSegmentInfo {
  readonly seq: number;
  readonly firstIndex: number;
  readonly name: string;
  readonly path: string;
}

export interface WalTailRepair {
  /** The segment that was truncated. */
  readonly file: string;
  /** Where the valid data ends (the segment now holds zeros from here). */
  readonly offset: number;
  /** The untouched copy of the segment as it was found. */
  readonly brokenFile: string;
  readonly problem: string;
}

export interface WalReadResult {
  readonly segments: WalSegmentInfo[];
  readonly replay: WalReplay;
  /** Where the next record goes in the last segment. */
  readonly tailOffset: number;
  /** End of the last segment's preamble (its header, markers and hard state). */
  readonly tailPreambleEnd: number;
  readonly repair: WalTailRepair | undefined;
}

export async function readWal(fs: FileSystem, dir: string, maxRecordBytes: number, logger: Logger): Promise<WalReadResult> {
  const names = await io('list', dir, () => fs.list(dir));
  // Leftovers of an interrupted segment cut or repair: never renamed, so never part of the log.
  const leftovers = names.filter((name) => name.endsWith('.tmp'));
  for (const name of leftovers) await io('unlink', joinPath(dir, name), () => fs.remove(joinPath(dir, name)));
  if (leftovers.length > 0) await io('fsync dir', dir, () => fs.syncDir(dir));

  const segments: WalSegmentInfo[] = [];
  for (const name of names) {
    const header = parseSegmentName(name);
    if (header !== undefined) segments.push({ ...header, name, path: joinPath(dir, name) });
  }
  segments.sort((a, b) => a.seq - b.seq);
  for (let i = 1; i < segments.length; i++) {
    if (segments[i]!.seq !== segments[i - 1]!.seq + 1) {
      throw new WalCorruptError(segments[i]!.path, 0, `segment sequence jumps from ${segments[i - 1]!.seq} to ${segments[i]!.seq}: a segment is missing`);
    }
  }

  const replay = new WalReplay();
  let tailOffset = 0;
  let tailPreambleEnd = 0;
  let repair: WalTailRepair | undefined;
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i]!;
    const isLast = i === segments.length - 1;
    const bytes = await io('read', segment.path, () => fs.readFile(segment.path));
    let recordIndex = 0;
    let preambleEnd = 0;
    let inPreamble = true;
    const end = scanRecords(bytes, maxRecordBytes, (record) => {
      applyRecord(replay, segment, record, recordIndex);
      recordIndex += 1;
      if (inPreamble && record.type === RecordType.Entry) inPreamble = false;
      if (inPreamble) preambleEnd = record.offset + recordBytes(record.payload.length);
    });
    if (recordIndex === 0) throw new WalCorruptError(segment.path, 0, `segment has no valid header record (${describe(end)})`);
    if (end.kind === 'corrupt') throw new WalCorruptError(segment.path, end.offset, end.problem);
    if (end.kind === 'torn') {
      if (!isLast) throw new WalCorruptError(segment.path, end.offset, `${end.problem}, in a segment that is not the last`);
      repair = await repairTail(fs, dir, segment, bytes, end.offset, end.problem);
      logger.warn('wal: repaired a torn tail', { ...repair });
    }
    if (isLast) {
      tailOffset = end.offset;
      tailPreambleEnd = preambleEnd;
    }
  }
  return { segments, replay, tailOffset, tailPreambleEnd, repair };
}

function describe(end: ScanEnd): string {
  return end.kind === 'clean' ? 'empty' : `${end.kind} at offset ${end.offset}: ${end.problem}`;
}

function applyRecord(replay: WalReplay, segment: WalSegmentInfo, record: ScannedRecord, recordIndex: number): void {
  const corrupt = (problem: string): never => {
    throw new WalCorruptError(segment.path, record.offset, problem);
  };
  try {
    if (recordIndex === 0) {
      if (record.type !== RecordType.SegmentHeader) corrupt(`first record is type ${record.type}, not a segment header`);
      const header = decodeSegmentHeader(record.payload);
      if (header.seq !== segment.seq || header.firstIndex !== segment.firstIndex) {
        corrupt(`segment header says seq ${header.seq} first index ${header.firstIndex}, the file name says ${segment.seq} and ${segment.firstIndex}`);
      }
      return;
    }
    switch (record.type) {
      case RecordType.SegmentHeader:
        return corrupt('a segment header in the middle of a segment');
      case RecordType.Entry: {
        const problem = replay.addEntry(decodeEntry(record.payload));
        if (problem !== undefined) corrupt(problem);
        return;
      }
      case RecordType.HardState:
        replay.hardState = decodeHardState(record.payload);
        return;
      case RecordType.SnapshotMarker:
        replay.addMarker(decodeSnapshotMarker(record.payload));
        return;
    }
  } catch (error) {
    if (error instanceof WalCorruptError) throw error;
    // The checksum held but the payload does not decode: written by a bug or another format.
    corrupt(ConclaveError.is(error) ? error.message : String(error));
  }
}

async function repairTail(fs: FileSystem, dir: string, segment: WalSegmentInfo, bytes: Uint8Array, offset: number, problem: string): Promise<WalTailRepair> {
  // Never overwrite the evidence of an earlier repair of the same segment.
  const existing = new Set(await io('list', dir, () => fs.list(dir)));
  let brokenName = `${segment.name}.broken`;
  for (let n = 1; existing.has(brokenName); n++) brokenName = `${segment.name}.broken.${n}`;
  const brokenFile = joinPath(dir, brokenName);
  const temp = `${brokenFile}.tmp`;
  // Keep the evidence first, durably, then cut the segment back to its last valid record and
  // zero-fill it to its former size (so the zeros-mean-end rule keeps holding).
  const copy = await io('create', temp, () => fs.create(temp));
  await io('write', temp, () => copy.write(0, bytes));
  await io('fdatasync', temp, () => copy.sync());
  await io('close', temp, () => copy.close());
  await io('rename', brokenFile, () => fs.rename(temp, brokenFile));
  await io('fsync dir', dir, () => fs.syncDir(dir));
  const handle = await io('open', segment.path, () => fs.open(segment.path));
  await io('truncate', segment.path, () => handle.truncate(offset));
  await io('allocate', segment.path, () => handle.allocate(bytes.length));
  await io('fdatasync', segment.path, () => handle.sync());
  await io('close', segment.path, () => handle.close());
  return { file: segment.path, offset, brokenFile, problem };
}

/** Runs one file-system call; any failure becomes a StorageFatalError naming the operation and file. */
export async function io<T>(operation: string, file: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof StorageFatalError) throw error;
    throw new StorageFatalError(operation, file, error);
  }
}
