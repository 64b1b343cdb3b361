/**
 * The FileSystem port: the only way the WAL and the snapshot files reach the disk. Everything
 * is async. Nothing written is durable until `sync()` on the file resolves; a created, renamed
 * or removed name is durable only after `syncDir()` on its directory. The real adapter is
 * NodeFileSystem; SimFileSystem holds files in memory and can lose power, tear writes, flip
 * bits and fail with EIO or ENOSPC, all from a seed.
 *
 * Paths are plain strings joined with '/' (POSIX). Errors are Node-style (`code` = 'ENOENT',
 * 'EIO', 'ENOSPC', ...), so callers handle both adapters the same way.
 */
export interface FileHandle {
  readonly path: string;
  /**
   * Opened with `durableWrites` (O_DSYNC): every write() is durable when it resolves, one
   * unit of work with no sync() of its own (one thread-pool hop instead of two).
   */
  readonly durableWrites?: boolean;
  /** Reads up to `lengthBytes` at `position`; returns fewer bytes only at end of file. */
  read(position: number, lengthBytes: number): Promise<Uint8Array>;
  /** Writes all of `data` at `position`, extending the file if needed. Not durable until sync(). */
  write(position: number, data: Uint8Array): Promise<void>;
  /** fdatasync: the data and the file size are durable when this resolves. Never retry a failure. */
  sync(): Promise<void>;
  /** Sets the size to `sizeBytes` (shrinking drops bytes; growing adds zeros). */
  truncate(sizeBytes: number): Promise<void>;
  /**
   * Grows the file to `sizeBytes` with zeros that occupy real blocks, so that later writes into
   * that range and their syncs need no block allocation (Node has no fallocate; the real adapter
   * writes zeros). Does nothing if the file is already that large.
   */
  allocate(sizeBytes: number): Promise<void>;
  sizeBytes(): Promise<number>;
  close(): Promise<void>;
}

export interface OpenOptions {
  readonly durableWrites?: boolean;
}

export interface FileSystem {
  /** Creates `dir` and its missing parents. The caller syncs the parent if the creation must be durable. */
  mkdirp(dir: string): Promise<void>;
  /** Names (not paths) of the entries of `dir`, sorted. */
  list(dir: string): Promise<string[]>;
  /**
   * Opens an existing file for reading and writing; rejects with ENOENT if it does not exist.
   * With `durableWrites` every write is durable once it resolves (O_DSYNC: write and
   * fdatasync as one unit of work).
   */
  open(path: string, options?: OpenOptions): Promise<FileHandle>;
  /** Creates `path` empty (truncating it if it exists) and opens it for reading and writing. */
  create(path: string): Promise<FileHandle>;
  readFile(path: string): Promise<Uint8Array>;
  /** Atomically replaces `to` with `from` (POSIX rename). Durable after syncDir. */
  rename(from: string, to: string): Promise<void>;
  /** Unlinks `path`. Durable after syncDir. */
  remove(path: string): Promise<void>;
  /** fsync on the directory itself: makes created, renamed and removed names in it durable. */
  syncDir(dir: string): Promise<void>;
}

/** The directory part of a '/'-joined path. */
export function dirOf(path: string): string {
  const at = path.lastIndexOf('/');
  return at <= 0 ? (at === 0 ? '/' : '.') : path.slice(0, at);
}

export function joinPath(dir: string, name: string): string {
  return dir.endsWith('/') ? `${dir}${name}` : `${dir}/${name}`;
}

/** A Node-style error with `code`, as both adapters throw. */
export function fsError(code: string, syscall: string, path: string): NodeJS.ErrnoException {
  const error: NodeJS.ErrnoException = new Error(`${code}: ${syscall} '${path}'`);
  error.code = code;
  error.syscall = syscall;
  error.path = path;
  return error;
}
