/**
 * A counting semaphore: at most `permits` sessions hold it at once. Each contender puts
 * `<name>/<lease hex>` under its session lease; a contender holds once fewer than `permits`
 * keys are older than its own (FIFO by create revision). Waiters watch the prefix for
 * deletions and recount, so every release wakes every waiter (a herd bounded by the number
 * of waiters; fine for small permit counts, documented in docs/lock.md). Every party must use
 * the same `permits`: the count is not stored on the server.
 */
import { InvalidOptionError, requireInteger, toHex } from '../base/index.js';
import type { Session } from '../lease/index.js';
import type { HeldLock } from './held-lock.js';
import type { LockOptions } from './mutex.js';
import { queuedAcquire } from './queued-acquire.js';
import { readQueue, snapshotOf } from './introspect.js';
import type { LockEntry, LockHolder, LockSnapshot } from './introspect.js';

export class Semaphore {
  readonly prefix: string;
  readonly key: string;
  readonly permits: number;

  constructor(readonly session: Session, readonly name: string, permits: number) {
    if (typeof name !== 'string' || name.length === 0) throw new InvalidOptionError('name', 'must be a non-empty string');
    this.permits = requireInteger('permits', permits, 1, 10_000);
    this.prefix = `${name}/`;
    this.key = `${this.prefix}${toHex(session.leaseId)}`;
  }

  /** Waits for a permit. The held permit's token is its key's create revision. */
  acquire(options: LockOptions = {}): Promise<HeldLock> {
    const client = this.session.client;
    return queuedAcquire({
      ...options, session: this.session, name: `semaphore:${this.name}`, key: this.key, kind: 'semaphore',
      wait: async (myRevision, guard) => {
        for (;;) {
          const older = await client.get(this.prefix).prefix().keysOnly().sort('create', 'ascend').maxCreateRevision(myRevision - 1n).limit(this.permits).signal(guard.current);
          if (older.kvs.length < this.permits) return;
          const watcher = client.watch(this.prefix, { prefix: true, startRevision: older.header.revision + 1n, noPut: true, signal: guard.signal });
          try {
            // Any deletion among the contenders may free a permit for us: recount.
            await watcher.next();
          } finally {
            watcher.close();
          }
        }
      },
    });
  }

  /** Keys currently holding or waiting, oldest first. */
  async contenders(): Promise<string[]> {
    return (await this.session.client.get(this.prefix).prefix().keysOnly().sort('create', 'ascend')).kvs.map((kv) => kv.key);
  }

  /** The entries holding a permit now (at most `permits`). */
  async holders(options: { signal?: AbortSignal } = {}): Promise<LockHolder[]> {
    return (await this.inspect(options)).holders;
  }

  /** Entries waiting for a permit, first in line first. */
  async waiters(options: { signal?: AbortSignal } = {}): Promise<LockEntry[]> {
    return (await this.inspect(options)).waiters;
  }

  /** Holders and waiters read at one revision (the oldest `permits` entries hold). */
  async inspect(options: { signal?: AbortSignal } = {}): Promise<LockSnapshot> {
    const { revision, kvs } = await readQueue(this.session.client, this.prefix, options.signal);
    return snapshotOf(this.session.client, revision, kvs, (_kv, index) => ({ holds: index < this.permits, rule: { blockers: this.prefix, allowed: this.permits } }), options.signal);
  }
}
