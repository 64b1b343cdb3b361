import type { FileHandle, FileSystem } from './file-system.js';
import { joinPath } from './file-system.js';
import type { ResolvedStorageOptions } from './options.js';
import { encodeRecords, RecordType } from './wal-record.js';
import { encodeSegmentHeader, hex16, segmentName } from './wal-payloads.js';
import { io } from './wal-reader.js';
import type { WalSegmentInfo } from './wal-reader.js';

/** The segment the WAL appends to. */
export interface OpenSegment {
  readonly info: WalSegmentInfo;
  readonly handle: FileHandle;
  offset: number;
  readonly preambleEnd: number;
}

/** A zero-filled, synced file waiting to become the next segment (not yet part of the log). */
export interface PreparedFile {
  readonly handle: FileHandle;
  readonly path: string;
}

/**
 * Pre-allocates the next segment file in the background: create `<seq>.wal.tmp`, fill it with
 * zeros up to segmentBytes, fdatasync. A cut then only writes the preamble and renames, instead
 * of stalling every append behind writing 64 MiB of zeros. The file is not part of the log
 * until renamed; a leftover is deleted on open like every `.tmp`.
 */
export async function prepareFile(fs: FileSystem, dir: string, seq: number, sizeBytes: number): Promise<PreparedFile> {
  const path = joinPath(dir, `${hex16(seq)}.wal.tmp`);
  const handle = await io('create', path, () => fs.create(path));
  await io('allocate', path, () => handle.allocate(sizeBytes));
  await io('fdatasync', path, () => handle.sync());
  return { handle, path };
}

/**
 * Creates a segment the crash-safe way: a zero-filled temporary file (prepared in advance, or
 * made now) gets its header and preamble, is fdatasynced, renamed into place, and the
 * directory fsynced. Only then may records be appended to it.
 */
export async function createSegment(
  fs: FileSystem,
  dir: string,
  options: ResolvedStorageOptions,
  header: { seq: number; firstIndex: number },
  preambleRecords: Uint8Array,
  prepared?: Promise<PreparedFile>,
): Promise<OpenSegment> {
  const name = segmentName(header);
  const path = joinPath(dir, name);
  const headerRecord = encodeRecords([{ type: RecordType.SegmentHeader, payload: encodeSegmentHeader(header) }]);
  const preamble = new Uint8Array(headerRecord.length + preambleRecords.length);
  preamble.set(headerRecord, 0);
  preamble.set(preambleRecords, headerRecord.length);
  const { handle, path: temp } = await (prepared ?? prepareFile(fs, dir, header.seq, options.segmentBytes));
  await io('allocate', temp, () => handle.allocate(preamble.length));
  await io('write', temp, () => handle.write(0, preamble));
  await io('fdatasync', temp, () => handle.sync());
  await io('rename', path, () => fs.rename(temp, path));
  await io('fsync dir', dir, () => fs.syncDir(dir));
  // Appends go through a handle with durable writes (O_DSYNC: write and fdatasync are one job);
  // the zero-filling above must not, so the file is reopened under its final name.
  const appender = await io('open', path, () => fs.open(path, { durableWrites: true }));
  await handle.close().catch(() => undefined);
  return { info: { ...header, name, path }, handle: appender, offset: preamble.length, preambleEnd: preamble.length };
}

