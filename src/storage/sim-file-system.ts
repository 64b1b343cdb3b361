import { SeededRandom } from '../base/random.js';
import { ConclaveError } from '../base/errors.js';
import { requireNumber } from '../base/validate.js';
import type { FileHandle, FileSystem, OpenOptions } from './file-system.js';
import { dirOf, fsError } from './file-system.js';
import { GrowableBytes } from './sim-bytes.js';

/**
 * An in-memory FileSystem that models what survives a power loss, for crash-consistency tests
 * of the WAL, the snapshot files and (later) the server.
 *
 * Model. Each file (inode) has a durable and a volatile content; each directory has a durable
 * and a volatile name table. Reads and listings see the volatile view. A write or truncate
 * changes the volatile content and is queued as a pending operation; `sync()` on the file
 * moves its pending operations into the durable content. create/rename/remove change the
 * volatile name table; `syncDir()` makes the directory's volatile table durable. Directories
 * themselves are durable as soon as they are created (only file names are modelled).
 *
 * Faults, all reproducible from the seed:
 * - power loss: `crashNow(plan)` or `armCrash(op, plan)` (when mutating operation number `op`
 *   starts). Unsynced operations are dropped, or a chosen prefix of them survives with the next
 *   write torn at any byte; unsynced directory changes are dropped unless the plan keeps them.
 *   After a crash every call rejects until `reboot()`.
 * - bit flips in stored bytes: `flipBit`.
 * - EIO / ENOSPC on writes or syncs: scheduled with `failAtOp`, or drawn with the configured
 *   probabilities. A failed sync forgets the file's pending operations without making them
 *   durable, as Linux may do (fsyncgate): a retried sync then "succeeds" without the data.
 */

export type SimOpKind = 'create' | 'write' | 'sync' | 'truncate' | 'allocate' | 'rename' | 'remove' | 'syncDir';

export interface SimOp {
  /** 1-based sequence number of the mutating operation since the file system was made. */
  readonly op: number;
  readonly kind: SimOpKind;
  readonly path: string;
  /** For writes: the number of bytes. */
  readonly bytes: number;
}

export interface CrashPlan {
  /** How many pending (unsynced) writes and truncates reach the disk, oldest first. Default 'none'. */
  readonly keepPendingOps?: 'none' | 'all' | number;
  /** If the crash interrupts a write, how many of its leading bytes reach the disk. Default 0. */
  readonly tornBytes?: number;
  /** Whether unsynced directory changes (create, rename, remove) survive. Default false. */
  readonly keepDirChanges?: boolean;
}

export interface SimFaultOptions {
  /** Probability that a write fails (with one of `failureCodes`). Default 0. */
  readonly writeFailureProbability?: number;
  /** Probability that a sync fails. Default 0. */
  readonly syncFailureProbability?: number;
  readonly failureCodes?: readonly ('EIO' | 'ENOSPC')[];
}

/** Every call made after a simulated power loss, until reboot(), rejects with this. */
export class SimulatedCrashError extends ConclaveError {
  constructor() {
    super('ERR_SIM_CRASHED', 'simulated power loss: the machine is down');
    this.name = 'SimulatedCrashError';
  }
}

interface Inode {
  durable: GrowableBytes;
  volatile: GrowableBytes;
  /** The name it was last created or renamed under (for the trace). */
  path: string;
}

type PendingOp =
  | { readonly inode: Inode; readonly kind: 'write'; readonly position: number; readonly data: Uint8Array }
  | { readonly inode: Inode; readonly kind: 'truncate'; readonly sizeBytes: number };

interface SimDir {
  durable: Map<string, Inode>;
  volatile: Map<string, Inode>;
}

function applyOp(target: GrowableBytes, op: PendingOp): void {
  if (op.kind === 'write') target.write(op.position, op.data);
  else target.truncate(op.sizeBytes);
}

function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

function normalize(path: string): string {
  return path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
}

export class SimFileSystem implements FileSystem {
  readonly random: SeededRandom;
  private readonly dirs = new Map<string, SimDir>();
  private pending: PendingOp[] = [];
  private opCount = 0;
  private crashed = false;
  private bootId = 0;
  private crashAt: { op: number; plan: CrashPlan } | undefined;
  private readonly scheduledFailures = new Map<number, 'EIO' | 'ENOSPC'>();
  private readonly nextFailures = new Map<'write' | 'sync', 'EIO' | 'ENOSPC'>();
  private writeFailureProbability: number;
  private syncFailureProbability: number;
  private readonly failureCodes: readonly ('EIO' | 'ENOSPC')[];
  /** Every mutating operation started, in order (cleared with clearTrace). */
  readonly trace: SimOp[] = [];

  constructor(seed: number, faults: SimFaultOptions = {}) {
    this.random = new SeededRandom(seed);
    this.writeFailureProbability = requireNumber('writeFailureProbability', faults.writeFailureProbability ?? 0, 0, 1);
    this.syncFailureProbability = requireNumber('syncFailureProbability', faults.syncFailureProbability ?? 0, 0, 1);
    this.failureCodes = faults.failureCodes ?? ['EIO', 'ENOSPC'];
    if (this.failureCodes.length === 0) throw new RangeError('failureCodes must not be empty');
    this.dirs.set('/', { durable: new Map(), volatile: new Map() });
  }

  /** Number of mutating operations started so far. */
  get operations(): number {
    return this.opCount;
  }

  get isCrashed(): boolean {
    return this.crashed;
  }

  /** Loses power when mutating operation number `op` (1-based, see `operations`) starts. */
  armCrash(op: number, plan: CrashPlan = {}): void {
    this.crashAt = { op, plan };
  }

  /** Makes mutating operation number `op` fail with `code` instead of taking effect. */
  failAtOp(op: number, code: 'EIO' | 'ENOSPC'): void {
    this.scheduledFailures.set(op, code);
  }

  /** Changes the random failure probabilities (e.g. to 0 once a faulty run is over). */
  setFailureProbabilities(write: number, sync: number): void {
    this.writeFailureProbability = requireNumber('writeFailureProbability', write, 0, 1);
    this.syncFailureProbability = requireNumber('syncFailureProbability', sync, 0, 1);
  }

  /** Makes the next operation of `kind` ('write' or 'sync') fail with `code`. */
  failNext(kind: 'write' | 'sync', code: 'EIO' | 'ENOSPC'): void {
    this.nextFailures.set(kind, code);
  }

  clearTrace(): void {
    this.trace.length = 0;
  }

  /** Loses power now. */
  crashNow(plan: CrashPlan = {}): void {
    this.powerLoss(plan, undefined);
  }

  /** A random crash plan: a random prefix of the pending operations survives, the next write torn at a random byte. */
  randomCrashPlan(): CrashPlan {
    const keep = this.random.int(this.pending.length + 1);
    const next = this.pending[keep];
    const tornBytes = next?.kind === 'write' ? this.random.int(next.data.length + 1) : 0;
    return { keepPendingOps: keep, tornBytes, keepDirChanges: this.random.chance(0.5) };
  }

  /** Powers the machine back on: every file reads as its durable content; old handles are dead. */
  reboot(): void {
    this.crashed = false;
    this.crashAt = undefined;
  }

  /** Flips one bit of the stored content of `path` (both views), as a damaged disk would. */
  flipBit(path: string, byteOffset: number, bit: number): void {
    const inode = this.lookup(path, 'flipBit');
    for (const view of [inode.durable, inode.volatile]) {
      if (byteOffset < view.size) view.view()[byteOffset]! ^= 1 << bit;
    }
  }

  /** Overwrites stored bytes of `path` in both views (for tests that zero or garble a region). */
  overwrite(path: string, byteOffset: number, data: Uint8Array): void {
    const inode = this.lookup(path, 'overwrite');
    inode.durable.write(byteOffset, data);
    inode.volatile.write(byteOffset, data);
  }

  /** The durable content of `path` (what a crash now would leave), or undefined if its name is not durable. */
  durableContent(path: string): Uint8Array | undefined {
    const dir = this.dirs.get(dirOf(normalize(path)));
    return dir?.durable.get(baseName(normalize(path)))?.durable.view().slice();
  }

  // --- FileSystem ---

  async mkdirp(dir: string): Promise<void> {
    this.checkUp();
    let current = '';
    for (const part of normalize(dir).split('/')) {
      if (part === '') continue;
      current = `${current}/${part}`;
      if (!this.dirs.has(current)) this.dirs.set(current, { durable: new Map(), volatile: new Map() });
    }
  }

  async list(dir: string): Promise<string[]> {
    this.checkUp();
    const entry = this.dirs.get(normalize(dir));
    if (entry === undefined) throw fsError('ENOENT', 'scandir', dir);
    const names = [...entry.volatile.keys()];
    for (const path of this.dirs.keys()) if (path !== '/' && dirOf(path) === normalize(dir)) names.push(baseName(path));
    return names.sort();
  }

  async open(path: string, options: OpenOptions = {}): Promise<FileHandle> {
    this.checkUp();
    const handle = this.handle(normalize(path), this.lookup(path, 'open'));
    if (options.durableWrites !== true) return handle;
    // O_DSYNC modelled as a write followed by its fdatasync, each a point where power can fail
    // (a crash inside an O_DSYNC write leaves what a crash between write and fdatasync leaves).
    return {
      ...handle,
      durableWrites: true,
      write: async (position, data) => {
        await handle.write(position, data);
        await handle.sync();
      },
    };
  }

  async create(path: string): Promise<FileHandle> {
    const clean = normalize(path);
    this.beginOp('create', clean, 0);
    const dir = this.dirOrThrow(clean, 'open');
    const inode: Inode = { durable: new GrowableBytes(), volatile: new GrowableBytes(), path: clean };
    dir.volatile.set(baseName(clean), inode);
    return this.handle(clean, inode);
  }

  async readFile(path: string): Promise<Uint8Array> {
    this.checkUp();
    return this.lookup(path, 'open').volatile.view().slice();
  }

  async rename(from: string, to: string): Promise<void> {
    this.beginOp('rename', `${from} -> ${to}`, 0);
    const inode = this.lookup(from, 'rename');
    const fromDir = this.dirOrThrow(normalize(from), 'rename');
    const toDir = this.dirOrThrow(normalize(to), 'rename');
    fromDir.volatile.delete(baseName(normalize(from)));
    toDir.volatile.set(baseName(normalize(to)), inode);
    inode.path = normalize(to);
  }

  async remove(path: string): Promise<void> {
    this.beginOp('remove', path, 0);
    this.lookup(path, 'unlink');
    this.dirOrThrow(normalize(path), 'unlink').volatile.delete(baseName(normalize(path)));
  }

  async syncDir(dir: string): Promise<void> {
    this.beginOp('syncDir', dir, 0);
    const entry = this.dirs.get(normalize(dir));
    if (entry === undefined) throw fsError('ENOENT', 'fsync', dir);
    entry.durable = new Map(entry.volatile);
  }

  // --- internals ---

  private handle(path: string, inode: Inode): FileHandle {
    const boot = this.bootId;
    const live = (syscall: string): void => {
      this.checkUp();
      if (boot !== this.bootId) throw fsError('EBADF', syscall, path);
    };
    return {
      path,
      read: async (position, lengthBytes) => {
        live('read');
        return inode.volatile.read(position, lengthBytes);
      },
      write: async (position, data) => {
        const op = this.beginOp('write', inode.path, data.length, { inode, kind: 'write', position, data: data.slice() }, boot);
        this.failIfScheduled(op, 'write', path, () => {
          // EIO may leave part of the write in the page cache.
          const partial = this.random.int(data.length + 1);
          if (partial > 0) this.pushWrite(inode, position, data.subarray(0, partial));
        });
        this.pushWrite(inode, position, data);
      },
      sync: async () => {
        const op = this.beginOp('sync', inode.path, 0, undefined, boot);
        this.failIfScheduled(op, 'fsync', path, () => {
          // The kernel reports the error once and forgets the dirty pages: they stay visible
          // in the page cache but will never reach the disk.
          this.pending = this.pending.filter((p) => p.inode !== inode);
        });
        for (const p of this.pending) if (p.inode === inode) applyOp(inode.durable, p);
        this.pending = this.pending.filter((p) => p.inode !== inode);
      },
      truncate: async (sizeBytes) => {
        this.beginOp('truncate', inode.path, 0, undefined, boot);
        this.pushTruncate(inode, sizeBytes);
      },
      allocate: async (sizeBytes) => {
        this.beginOp('allocate', inode.path, 0, undefined, boot);
        if (inode.volatile.size < sizeBytes) this.pushTruncate(inode, sizeBytes);
      },
      sizeBytes: async () => {
        live('fstat');
        return inode.volatile.size;
      },
      close: async () => {
        // Closing never fails here; the real close() may, and its error is not a sync failure.
      },
    };
  }

  private pushWrite(inode: Inode, position: number, data: Uint8Array): void {
    const copy = data.slice();
    inode.volatile.write(position, copy);
    this.pending.push({ inode, kind: 'write', position, data: copy });
  }

  private pushTruncate(inode: Inode, sizeBytes: number): void {
    inode.volatile.truncate(sizeBytes);
    this.pending.push({ inode, kind: 'truncate', sizeBytes });
  }

  /** Counts a mutating operation, and loses power first if one is armed for it. */
  private beginOp(kind: SimOpKind, path: string, bytes: number, inProgress?: PendingOp, boot = this.bootId): number {
    this.checkUp();
    if (boot !== this.bootId) throw fsError('EBADF', kind, path);
    this.opCount += 1;
    this.trace.push({ op: this.opCount, kind, path, bytes });
    if (this.crashAt !== undefined && this.crashAt.op === this.opCount) {
      this.powerLoss(this.crashAt.plan, inProgress);
      throw new SimulatedCrashError();
    }
    return this.opCount;
  }

  private failIfScheduled(op: number, syscall: string, path: string, sideEffect: () => void): void {
    const kind = syscall === 'write' ? 'write' : 'sync';
    let code = this.scheduledFailures.get(op) ?? this.nextFailures.get(kind);
    this.nextFailures.delete(kind);
    if (code === undefined) {
      const probability = syscall === 'write' ? this.writeFailureProbability : this.syncFailureProbability;
      if (this.random.chance(probability)) code = this.failureCodes[this.random.int(this.failureCodes.length)]!;
    }
    if (code === undefined) return;
    this.scheduledFailures.delete(op);
    if (code === 'EIO') sideEffect();
    else if (syscall === 'fsync') sideEffect();
    throw fsError(code, syscall, path);
  }

  private powerLoss(plan: CrashPlan, inProgress: PendingOp | undefined): void {
    const keep = plan.keepPendingOps ?? 'none';
    const keepCount = keep === 'all' ? this.pending.length : keep === 'none' ? 0 : Math.min(keep, this.pending.length);
    for (const op of this.pending.slice(0, keepCount)) applyOp(op.inode.durable, op);
    // The write cut short: the dropped pending op after the kept prefix, or the write in progress.
    const torn = keepCount < this.pending.length ? this.pending[keepCount] : inProgress;
    const tornBytes = plan.tornBytes ?? 0;
    if (torn?.kind === 'write' && tornBytes > 0) {
      torn.inode.durable.write(torn.position, torn.data.subarray(0, Math.min(tornBytes, torn.data.length)));
    }
    this.pending = [];
    for (const dir of this.dirs.values()) {
      if (plan.keepDirChanges) dir.durable = new Map(dir.volatile);
      else dir.volatile = new Map(dir.durable);
    }
    const inodes = new Set<Inode>();
    for (const dir of this.dirs.values()) for (const inode of dir.durable.values()) inodes.add(inode);
    for (const inode of inodes) inode.volatile = inode.durable.copy();
    this.crashed = true;
    this.bootId += 1;
  }

  private checkUp(): void {
    if (this.crashed) throw new SimulatedCrashError();
  }

  private dirOrThrow(path: string, syscall: string): SimDir {
    const dir = this.dirs.get(dirOf(path));
    if (dir === undefined) throw fsError('ENOENT', syscall, path);
    return dir;
  }

  private lookup(path: string, syscall: string): Inode {
    const clean = normalize(path);
    const inode = this.dirOrThrow(clean, syscall).volatile.get(baseName(clean));
    if (inode === undefined) throw fsError('ENOENT', syscall, path);
    return inode;
  }
}
