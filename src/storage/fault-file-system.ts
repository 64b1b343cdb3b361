/**
 * A FileSystem that fails on demand: every write and sync first asks `fault()`, and rejects
 * with the error it returns (EIO, ENOSPC) instead of touching the inner file system. Used by
 * the chaos suite through `conclave server`'s hidden CONCLAVE_TEST_DISK_FAULT_FILE switch
 * (a fault is on while that file exists; its content names the error code). Reads pass.
 */
import type { FileHandle, FileSystem } from './file-system.js';
import { fsError } from './file-system.js';

export type DiskFault = (operation: 'write' | 'sync' | 'create' | 'rename', path: string) => string | undefined;

export class FaultInjectingFileSystem implements FileSystem {
  constructor(private readonly inner: FileSystem, private readonly fault: DiskFault) {}

  private check(operation: 'write' | 'sync' | 'create' | 'rename', path: string): void {
    const code = this.fault(operation, path);
    if (code !== undefined) throw fsError(code, operation, path);
  }

  mkdirp(dir: string): Promise<void> {
    return this.inner.mkdirp(dir);
  }

  list(dir: string): Promise<string[]> {
    return this.inner.list(dir);
  }

  async open(path: string): Promise<FileHandle> {
    return this.wrap(await this.inner.open(path));
  }

  async create(path: string): Promise<FileHandle> {
    this.check('create', path);
    return this.wrap(await this.inner.create(path));
  }

  readFile(path: string): Promise<Uint8Array> {
    return this.inner.readFile(path);
  }

  async rename(from: string, to: string): Promise<void> {
    this.check('rename', to);
    await this.inner.rename(from, to);
  }

  remove(path: string): Promise<void> {
    return this.inner.remove(path);
  }

  async syncDir(dir: string): Promise<void> {
    this.check('sync', dir);
    await this.inner.syncDir(dir);
  }

  private wrap(handle: FileHandle): FileHandle {
    const check = (operation: 'write' | 'sync'): void => this.check(operation, handle.path);
    return {
      path: handle.path,
      read: (position, lengthBytes) => handle.read(position, lengthBytes),
      write: async (position, data) => {
        check('write');
        await handle.write(position, data);
      },
      sync: async () => {
        check('sync');
        await handle.sync();
      },
      truncate: (sizeBytes) => handle.truncate(sizeBytes),
      allocate: async (sizeBytes) => {
        check('write');
        await handle.allocate(sizeBytes);
      },
      sizeBytes: () => handle.sizeBytes(),
      close: () => handle.close(),
    };
  }
}
