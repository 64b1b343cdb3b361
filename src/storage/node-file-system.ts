import { constants, writeSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import type { FileHandle, FileSystem, OpenOptions } from './file-system.js';

/** Zeros are written in chunks of this size when allocating (bounded memory for any file size). */
const ALLOCATE_CHUNK_BYTES = 1 << 20;
/**
 * An O_DSYNC write up to this size runs on the event loop (writeSync): it blocks the loop for
 * about one device flush (~0.15 ms here) but saves the two thread-pool hops (queue, wake) of an
 * async write, which on a sequential put cost as much as the flush. Larger batches (many
 * proposals at once) go through the thread pool so the loop keeps serving meanwhile.
 */
const SYNC_DURABLE_WRITE_MAX_BYTES = 16 * 1024;

class NodeFileHandle implements FileHandle {
  constructor(
    readonly path: string,
    private readonly handle: fsp.FileHandle,
    readonly durableWrites = false,
  ) {}

  async read(position: number, lengthBytes: number): Promise<Uint8Array> {
    const buffer = new Uint8Array(lengthBytes);
    let filled = 0;
    while (filled < lengthBytes) {
      const { bytesRead } = await this.handle.read(buffer, filled, lengthBytes - filled, position + filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return filled === lengthBytes ? buffer : buffer.subarray(0, filled);
  }

  async write(position: number, data: Uint8Array): Promise<void> {
    let written = 0;
    if (this.durableWrites && data.length <= SYNC_DURABLE_WRITE_MAX_BYTES) {
      // Thrown errors (EIO, ENOSPC) reject this promise, as the async write's would.
      while (written < data.length) written += writeSync(this.handle.fd, data, written, data.length - written, position + written);
      return;
    }
    // A short write is legal POSIX behaviour; keep going until everything is handed to the kernel.
    while (written < data.length) {
      const { bytesWritten } = await this.handle.write(data, written, data.length - written, position + written);
      written += bytesWritten;
    }
  }

  sync(): Promise<void> {
    return this.handle.datasync();
  }

  truncate(sizeBytes: number): Promise<void> {
    return this.handle.truncate(sizeBytes);
  }

  async allocate(sizeBytes: number): Promise<void> {
    let size = (await this.handle.stat()).size;
    const zeros = new Uint8Array(Math.min(ALLOCATE_CHUNK_BYTES, Math.max(0, sizeBytes - size)));
    while (size < sizeBytes) {
      const chunk = Math.min(zeros.length, sizeBytes - size);
      await this.write(size, chunk === zeros.length ? zeros : zeros.subarray(0, chunk));
      size += chunk;
    }
  }

  async sizeBytes(): Promise<number> {
    return (await this.handle.stat()).size;
  }

  close(): Promise<void> {
    return this.handle.close();
  }
}

/** The real adapter, over `node:fs/promises`. */
export class NodeFileSystem implements FileSystem {
  async mkdirp(dir: string): Promise<void> {
    await fsp.mkdir(dir, { recursive: true });
  }

  async list(dir: string): Promise<string[]> {
    return (await fsp.readdir(dir)).sort();
  }

  async open(path: string, options: OpenOptions = {}): Promise<FileHandle> {
    const durable = options.durableWrites === true;
    return new NodeFileHandle(path, await fsp.open(path, constants.O_RDWR | (durable ? constants.O_DSYNC : 0)), durable);
  }

  async create(path: string): Promise<FileHandle> {
    return new NodeFileHandle(path, await fsp.open(path, constants.O_RDWR | constants.O_CREAT | constants.O_TRUNC, 0o600));
  }

  async readFile(path: string): Promise<Uint8Array> {
    const buffer = await fsp.readFile(path);
    return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  }

  rename(from: string, to: string): Promise<void> {
    return fsp.rename(from, to);
  }

  remove(path: string): Promise<void> {
    return fsp.unlink(path);
  }

  async syncDir(dir: string): Promise<void> {
    const handle = await fsp.open(dir, constants.O_RDONLY);
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  }
}
