import type { Snapshot } from '../raft/types.js';
import { ByteReader, ByteWriter } from './bytes.js';
import { crc32c } from './crc32c.js';
import { RecordTooLargeError, SnapshotCorruptError } from './errors.js';
import type { FileSystem } from './file-system.js';
import { joinPath } from './file-system.js';
import { readSnapshotMetadata, writeSnapshotMetadata } from './raft-codec.js';
import { hex16 } from './wal-payloads.js';
import { io } from './wal-reader.js';

/**
 * Snapshot files, one per snapshot, named `<term:16 hex>-<index:16 hex>.snap`:
 *
 *   offset 0   8 bytes magic "CNCLSNAP"
 *   offset 8   u32 formatVersion (1)
 *   offset 12  u32 CRC-32C of every byte from offset 16 to the end
 *   offset 16  u64 bodyBytes (the file is exactly 24 + bodyBytes long)
 *   offset 24  u32 metadataBytes, SnapshotMetadata (raft-codec), then the application data
 *
 * Written to `<name>.tmp`, fdatasynced, renamed, directory fsynced: a snapshot file either is
 * complete under its final name or is not there. A file that fails its checks is renamed to
 * `<name>.broken` and skipped.
 */
const SNAP_MAGIC = new TextEncoder().encode('CNCLSNAP');
const SNAP_FORMAT_VERSION = 1;
const PREFIX_BYTES = 24;
const NAME = /^([0-9a-f]{16})-([0-9a-f]{16})\.snap$/;

export interface SnapshotFileInfo {
  readonly name: string;
  readonly path: string;
  readonly term: number;
  readonly index: number;
}

export function snapshotFileName(term: number, index: number): string {
  return `${hex16(term)}-${hex16(index)}.snap`;
}

export function encodeSnapshotFile(snapshot: Snapshot): Uint8Array {
  const metadata = writeSnapshotMetadata(new ByteWriter(), snapshot.metadata).finish();
  const bodyBytes = 4 + metadata.length + snapshot.data.length;
  const out = new Uint8Array(PREFIX_BYTES + bodyBytes);
  const view = new DataView(out.buffer);
  out.set(SNAP_MAGIC, 0);
  view.setUint32(8, SNAP_FORMAT_VERSION, true);
  view.setBigUint64(16, BigInt(bodyBytes), true);
  view.setUint32(24, metadata.length, true);
  out.set(metadata, 28);
  out.set(snapshot.data, 28 + metadata.length);
  view.setUint32(12, crc32c(out, 0, 16), true);
  return out;
}

export function decodeSnapshotFile(bytes: Uint8Array, file: string): Snapshot {
  const corrupt = (problem: string): never => {
    throw new SnapshotCorruptError(file, problem);
  };
  if (bytes.length < PREFIX_BYTES + 4) corrupt(`file is ${bytes.length} bytes, too short`);
  if (!SNAP_MAGIC.every((byte, i) => bytes[i] === byte)) corrupt('bad magic');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint32(8, true);
  if (version !== SNAP_FORMAT_VERSION) corrupt(`unsupported format version ${version}`);
  const bodyBytes = view.getBigUint64(16, true);
  if (bodyBytes !== BigInt(bytes.length - PREFIX_BYTES)) corrupt(`header says ${bodyBytes} body bytes, file has ${bytes.length - PREFIX_BYTES}`);
  const stored = view.getUint32(12, true);
  const computed = crc32c(bytes, 0, 16);
  if (stored !== computed) corrupt(`checksum mismatch (stored ${stored.toString(16)}, computed ${computed.toString(16)})`);
  const metadataBytes = view.getUint32(24, true);
  if (metadataBytes > bytes.length - 28) corrupt(`metadata length ${metadataBytes} runs past the end`);
  try {
    const reader = new ByteReader(bytes.subarray(28, 28 + metadataBytes), 'snapshot metadata');
    const metadata = readSnapshotMetadata(reader);
    reader.end();
    return { metadata, data: bytes.slice(28 + metadataBytes) };
  } catch (error) {
    return corrupt(error instanceof Error ? error.message : String(error));
  }
}

export class SnapshotStore {
  constructor(
    private readonly fs: FileSystem,
    private readonly dir: string,
    private readonly maxSnapshotBytes: number,
  ) {}

  /** Snapshot files present, newest (highest index) first. Removes leftovers of interrupted saves. */
  async list(): Promise<SnapshotFileInfo[]> {
    const names = await io('list', this.dir, () => this.fs.list(this.dir));
    const leftovers = names.filter((name) => name.endsWith('.tmp'));
    for (const name of leftovers) await io('unlink', joinPath(this.dir, name), () => this.fs.remove(joinPath(this.dir, name)));
    if (leftovers.length > 0) await io('fsync dir', this.dir, () => this.fs.syncDir(this.dir));
    const files: SnapshotFileInfo[] = [];
    for (const name of names) {
      const match = NAME.exec(name);
      if (match === null) continue;
      const term = Number.parseInt(match[1]!, 16);
      const index = Number.parseInt(match[2]!, 16);
      if (Number.isSafeInteger(term) && Number.isSafeInteger(index)) files.push({ name, path: joinPath(this.dir, name), term, index });
    }
    return files.sort((a, b) => b.index - a.index || b.term - a.term);
  }

  /** Reads and verifies one snapshot file; throws SnapshotCorruptError if it does not check out. */
  async load(file: SnapshotFileInfo): Promise<Snapshot> {
    const handle = await io('open', file.path, () => this.fs.open(file.path));
    let sizeBytes: number;
    try {
      sizeBytes = await io('fstat', file.path, () => handle.sizeBytes());
    } finally {
      await handle.close();
    }
    if (sizeBytes > this.maxSnapshotBytes) throw new SnapshotCorruptError(file.path, `file is ${sizeBytes} bytes, over maxSnapshotBytes ${this.maxSnapshotBytes}`);
    const snapshot = decodeSnapshotFile(await io('read', file.path, () => this.fs.readFile(file.path)), file.path);
    if (snapshot.metadata.index !== file.index || snapshot.metadata.term !== file.term) {
      throw new SnapshotCorruptError(file.path, `holds index ${snapshot.metadata.index} term ${snapshot.metadata.term}, the name says ${file.index} and ${file.term}`);
    }
    return snapshot;
  }

  /** Writes `snapshot` durably under its final name (temp file, fdatasync, rename, directory fsync). */
  async save(snapshot: Snapshot): Promise<SnapshotFileInfo> {
    const bytes = encodeSnapshotFile(snapshot);
    if (bytes.length > this.maxSnapshotBytes) throw new RecordTooLargeError('snapshot file', bytes.length, this.maxSnapshotBytes);
    const { term, index } = snapshot.metadata;
    const name = snapshotFileName(term, index);
    const path = joinPath(this.dir, name);
    const temp = `${path}.tmp`;
    const handle = await io('create', temp, () => this.fs.create(temp));
    await io('write', temp, () => handle.write(0, bytes));
    await io('fdatasync', temp, () => handle.sync());
    await io('close', temp, () => handle.close());
    await io('rename', path, () => this.fs.rename(temp, path));
    await io('fsync dir', this.dir, () => this.fs.syncDir(this.dir));
    return { name, path, term, index };
  }

  /** Moves a damaged file aside as `<name>.broken` so it is neither loaded nor counted again. */
  async quarantine(file: SnapshotFileInfo): Promise<void> {
    await io('rename', file.path, () => this.fs.rename(file.path, `${file.path}.broken`));
    await io('fsync dir', this.dir, () => this.fs.syncDir(this.dir));
  }

  /** Removes all but the newest `keep` snapshot files; returns the ones kept, newest first. */
  async purge(keep: number): Promise<SnapshotFileInfo[]> {
    const files = await this.list();
    const doomed = files.slice(keep);
    for (const file of doomed) await io('unlink', file.path, () => this.fs.remove(file.path));
    if (doomed.length > 0) await io('fsync dir', this.dir, () => this.fs.syncDir(this.dir));
    return files.slice(0, keep);
  }
}
