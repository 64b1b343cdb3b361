/**
 * A readers-writer lock. Readers put `<name>/read/<lease hex>`, writers `<name>/write/<lease hex>`
 * (session lease). FIFO by create revision: a reader waits only for older writers; a writer
 * waits for every older key, reader or writer, one predecessor at a time. Each held lock has
 * a fencing token (its key's create revision). Callers sharing a session queue locally (they
 * would share a key); a session cannot upgrade a read lock to a write lock (it would wait for
 * itself), so both modes share one local queue per session.
 */
import { InvalidOptionError, toHex } from '../base/index.js';
import type { Session } from '../lease/index.js';
import type { HeldLock } from './held-lock.js';
import type { LockOptions } from './mutex.js';
import { queuedAcquire } from './queued-acquire.js';
import { waitForPredecessors } from './wait.js';
import { readQueue, snapshotOf } from './introspect.js';
import type { LockEntry, LockHolder, LockSnapshot } from './introspect.js';

export class RWMutex {
  readonly readKey: string;
  readonly writeKey: string;

  constructor(readonly session: Session, readonly name: string) {
    if (typeof name !== 'string' || name.length === 0) throw new InvalidOptionError('name', 'must be a non-empty string');
    const hex = toHex(session.leaseId);
    this.readKey = `${name}/read/${hex}`;
    this.writeKey = `${name}/write/${hex}`;
  }

  /** Shared lock: held together with other readers, never with a writer. */
  readLock(options: LockOptions = {}): Promise<HeldLock> {
    return queuedAcquire({
      ...options, session: this.session, name: `rw:${this.name}`, key: this.readKey, kind: 'rwmutex',
      wait: async (myRevision, guard) => {
        await waitForPredecessors(this.session.client, `${this.name}/write/`, myRevision - 1n, guard);
      },
    });
  }

  /** Exclusive lock: held alone. */
  writeLock(options: LockOptions = {}): Promise<HeldLock> {
    return queuedAcquire({
      ...options, session: this.session, name: `rw:${this.name}`, key: this.writeKey, kind: 'rwmutex',
      wait: async (myRevision, guard) => {
        await waitForPredecessors(this.session.client, `${this.name}/`, myRevision - 1n, guard);
      },
    });
  }

  /** Readers and writers holding now (several readers, or one writer). */
  async holders(options: { signal?: AbortSignal } = {}): Promise<LockHolder[]> {
    return (await this.inspect(options)).holders;
  }

  /** Entries waiting, first in line first, each with its mode. */
  async waiters(options: { signal?: AbortSignal } = {}): Promise<LockEntry[]> {
    return (await this.inspect(options)).waiters;
  }

  /** Holders and waiters read at one revision: a reader holds while no writer is older, a writer when it is oldest. */
  async inspect(options: { signal?: AbortSignal } = {}): Promise<LockSnapshot> {
    const { revision, kvs } = await readQueue(this.session.client, `${this.name}/`, options.signal);
    const writePrefix = `${this.name}/write/`;
    let writerSeen = false;
    return snapshotOf(this.session.client, revision, kvs, (kv, index) => {
      const isWriter = kv.key.startsWith(writePrefix);
      const holds = isWriter ? index === 0 : !writerSeen;
      if (isWriter) writerSeen = true;
      return { holds, mode: isWriter ? 'write' : 'read', rule: { blockers: isWriter ? `${this.name}/` : writePrefix, allowed: 1 } };
    }, options.signal);
  }
}
