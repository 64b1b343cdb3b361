import { closeSync, linkSync, mkdirSync, openSync, readFileSync, renameSync, unlinkSync, writeSync, fsyncSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { ConclaveError } from '../base/errors.js';

/** The lock file inside a data directory (etcd locks its WAL files; one file is enough here). */
export const LOCK_FILE_NAME = 'member.lock';

/** What a lock file records about its holder. */
interface LockHolder {
  readonly pid: number;
  readonly host: string;
  readonly name: string;
  readonly startedAt: string;
}

/** Data directories locked by this process (a second member in the same process is refused too). */
const heldInThisProcess = new Set<string>();

/**
 * An exclusive lock on a member's data directory for the member's lifetime, so a second
 * `conclave server` (or a second embedded member) on the same directory is refused instead of
 * corrupting the WAL and backend.
 *
 * Hand-written rather than proper-lockfile: that library decides staleness by mtime, so after
 * a kill -9 the restarted member would wait out the stale period (seconds), and a busy event
 * loop that misses its mtime refresh would let another process take a live lock. Here the
 * lock file is created with O_EXCL and names its holder's pid and host; a lock whose process
 * no longer runs on this host is stale and taken over.
 */
export class DataDirLock {
  private released = false;

  private constructor(private readonly path: string, private readonly dir: string) {}

  /** Takes the lock or throws ERR_DATA_DIR_LOCKED naming the holder. */
  static acquire(dataDir: string, memberName: string): DataDirLock {
    mkdirSync(dataDir, { recursive: true });
    const path = join(dataDir, LOCK_FILE_NAME);
    if (heldInThisProcess.has(path)) throw lockedError(dataDir, { pid: process.pid, host: hostname(), name: memberName, startedAt: 'this process' });
    const me: LockHolder = { pid: process.pid, host: hostname(), name: memberName, startedAt: new Date().toISOString() };
    for (let attempt = 0; attempt < 3; attempt++) {
      if (tryCreate(path, me)) {
        heldInThisProcess.add(path);
        return new DataDirLock(path, dataDir);
      }
      const holder = readHolder(path);
      if (holder === undefined) continue; // removed between our create and read: try again
      if (holder !== 'unreadable' && isAlive(holder)) throw lockedError(dataDir, holder);
      takeOverStale(path, holder);
    }
    throw new ConclaveError('ERR_DATA_DIR_LOCKED', `data directory ${dataDir} is locked (${path} keeps changing: another member is starting on it)`);
  }

  /** Releases the lock (idempotent). */
  release(): void {
    if (this.released) return;
    this.released = true;
    heldInThisProcess.delete(this.path);
    try {
      unlinkSync(this.path);
    } catch {
      // already gone: nothing to release
    }
  }

  get dataDir(): string {
    return this.dir;
  }
}

function tryCreate(path: string, me: LockHolder): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
  try {
    writeSync(fd, `${JSON.stringify(me)}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return true;
}

function readHolder(path: string): LockHolder | 'unreadable' | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    const parsed = JSON.parse(text) as Partial<LockHolder>;
    if (typeof parsed.pid === 'number' && typeof parsed.host === 'string') return parsed as LockHolder;
  } catch {
    // a torn write by a holder killed while creating it
  }
  return 'unreadable';
}

/** A holder on another host cannot be checked, so it counts as alive (the operator removes the file). */
function isAlive(holder: LockHolder): boolean {
  if (holder.host !== hostname()) return true;
  if (holder.pid === process.pid) return false; // a lock left by an earlier process that had our pid
  try {
    process.kill(holder.pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Moves a stale lock aside atomically. Two processes taking over the same stale lock could
 * otherwise both succeed: the one whose rename caught the other's fresh lock puts it back.
 */
function takeOverStale(path: string, stale: LockHolder | 'unreadable'): void {
  const aside = `${path}.stale-${process.pid}`;
  try {
    renameSync(path, aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  const moved = readHolder(aside);
  const same = moved === stale || (typeof moved === 'object' && typeof stale === 'object' && moved.pid === stale.pid && moved.startedAt === stale.startedAt);
  if (!same) {
    try {
      linkSync(aside, path); // fails if yet another lock appeared meanwhile; that one then stands
    } catch {
      // keep the other lock
    }
  }
  unlinkSync(aside);
}

function lockedError(dataDir: string, holder: LockHolder): ConclaveError {
  return new ConclaveError(
    'ERR_DATA_DIR_LOCKED',
    `data directory ${dataDir} is in use by member ${JSON.stringify(holder.name)} (pid ${holder.pid} on ${holder.host}, since ${holder.startedAt}); stop it first, or remove ${join(dataDir, LOCK_FILE_NAME)} if that process is gone`,
  );
}
