/**
 * A distributed mutex with etcd's key layout, so it excludes `etcdctl lock` and Go clients on
 * the same name: each waiter puts `<name>/<lease id in hex>` (empty value, session lease); the
 * key with the lowest create revision holds the lock; a waiter watches only its immediate
 * predecessor (FIFO, no herd). The holder's create revision is the fencing token.
 *
 * Differences from etcd's Go Mutex: callers in one process that share a session queue locally
 * first (they would share one key); a wait fails as soon as the session is lost; a wait that
 * ends after the session expired never reports success; the held lock carries an AbortSignal.
 * Not reentrant: a second `lock()` in the same process waits for `unlock()`.
 */
import { requireInteger, linkSignals, toHex, InvalidOptionError } from '../base/index.js';
import type { Clock } from '../base/index.js';
import { compare } from '../client/index.js';
import type { Client, TxnResult } from '../client/index.js';
import type { Session } from '../lease/index.js';
import { LockTimeoutError, SessionExpiredError } from './errors.js';
import { HeldLock } from './held-lock.js';
import { acquireLocal, isLocallyBusy } from './local-queue.js';
import { abortOnDelete, waitForDelete } from './wait.js';
import type { OwnKeyGuard } from './wait.js';
import { HandoffObserver } from './lock-delay.js';
import type { HandoffInfo } from './lock-delay.js';
import { boundHold, checkHoldOptions } from './bounded-hold.js';
import { readQueue, snapshotOf } from './introspect.js';
import { reportContention, startCycle, trackHold } from './cycle.js';
import { recordLockDelay } from '../telemetry/index.js';
import type { LockCycle } from '../telemetry/index.js';
import type { LockEntry, LockHolder, LockSnapshot } from './introspect.js';
import type { BoundedHoldOptions } from './bounded-hold.js';

export interface MutexOptions {
  /**
   * Lock-delay: when the previous holder lost its session (rather than unlocking), hold the
   * grant back this long after the loss is seen (see lock-delay.ts and docs/lock.md). Default 0.
   */
  readonly lockDelayMs?: number;
  /** Called when a grant was held back by the lock-delay, or passed it (cause 'released'). */
  readonly onHandoff?: (info: HandoffInfo) => void;
  /** Clock for the lock-delay and hold bounds; default the client's. */
  readonly clock?: Clock;
}

export interface LockOptions extends BoundedHoldOptions {
  /** Gives up waiting (removing our key) when it aborts; rejects with its reason. */
  readonly signal?: AbortSignal;
  /** Gives up after this long with LockTimeoutError. */
  readonly timeoutMs?: number;
}

export class Mutex {
  /** `<name>/`: every contender's key lives under it. */
  readonly prefix: string;
  /** This session's key: `<name>/<lease id in hex>`. */
  readonly key: string;
  private readonly client: Client;
  private readonly lockDelayMs: number;
  private readonly clock: Clock;

  constructor(readonly session: Session, readonly name: string, private readonly options: MutexOptions = {}) {
    if (typeof name !== 'string' || name.length === 0) throw new InvalidOptionError('name', 'must be a non-empty string');
    this.client = session.client;
    this.lockDelayMs = requireInteger('lockDelayMs', options.lockDelayMs ?? 0, 0, 3_600_000);
    this.clock = options.clock ?? session.client.clock;
    this.prefix = `${name}/`;
    this.key = `${this.prefix}${toHex(session.leaseId)}`;
  }

  /** Waits until the lock is held. */
  async lock(options: LockOptions = {}): Promise<HeldLock> {
    checkHoldOptions(options);
    const cycle = startCycle('mutex', this.name, this.client);
    const timeout = options.timeoutMs === undefined ? undefined : requireInteger('timeoutMs', options.timeoutMs, 0);
    // Without a time limit there is nothing to link a timer signal for.
    const timer = timeout === undefined ? undefined : new AbortController();
    const cancelTimer = timeout === undefined ? undefined : this.client.clock.setTimer(timeout, () => timer!.abort(new LockTimeoutError(this.name, timeout)));
    const linked = linkSignals(options.signal, timer?.signal, this.session.signal);
    try {
      const releaseLocal = await acquireLocal(this.session, this.name, linked.signal).catch((error: unknown) => {
        throw this.explain(error);
      });
      try {
        return boundHold(trackHold(cycle, await this.acquire(linked.signal, releaseLocal, cycle)), options, this.clock);
      } catch (error) {
        releaseLocal();
        throw this.explain(error);
      }
    } catch (error) {
      cycle.failed(error);
      throw error;
    } finally {
      cancelTimer?.();
      linked.dispose();
    }
  }

  /** Takes the lock if it is free right now; resolves with null otherwise. */
  async tryLock(options: { signal?: AbortSignal } = {}): Promise<HeldLock | null> {
    if (isLocallyBusy(this.session, this.name)) return null;
    const linked = linkSignals(options.signal, this.session.signal);
    try {
      const releaseLocal = await acquireLocal(this.session, this.name, linked.signal);
      try {
        const attempt = await this.enqueue(linked.signal);
        if (attempt.owner) return this.confirm(attempt.myRevision, attempt.header, releaseLocal);
        await this.client.deleteOwnKey(this.key).catch(() => {});
        releaseLocal();
        return null;
      } catch (error) {
        releaseLocal();
        throw error;
      }
    } catch (error) {
      throw this.explain(error);
    } finally {
      linked.dispose();
    }
  }

  /**
   * The current holder (key, token, lease, waiting- and held-since revisions), or undefined
   * when the lock is free. A snapshot: see introspect.ts.
   */
  async holder(options: { signal?: AbortSignal } = {}): Promise<LockHolder | undefined> {
    return (await this.inspect(options)).holders[0];
  }

  /** Everyone waiting behind the holder, first in line first. */
  async waiters(options: { signal?: AbortSignal } = {}): Promise<LockEntry[]> {
    return (await this.inspect(options)).waiters;
  }

  /** Holder and waiters read at one revision. */
  async inspect(options: { signal?: AbortSignal } = {}): Promise<LockSnapshot> {
    const { revision, kvs } = await readQueue(this.client, this.prefix, options.signal);
    return snapshotOf(this.client, revision, kvs, (_kv, index) => ({ holds: index === 0, rule: { blockers: this.prefix, allowed: 1 } }), options.signal);
  }

  private async acquire(signal: AbortSignal, releaseLocal: () => void, cycle: LockCycle): Promise<HeldLock> {
    const attempt = await this.enqueue(signal);
    if (attempt.owner) {
      cycle.contention(0);
      return this.confirm(attempt.myRevision, attempt.header, releaseLocal);
    }
    reportContention(cycle, this.client, this.prefix, attempt.myRevision, attempt.header);
    const ownKey = abortOnDelete(this.client, this.key, attempt.header, signal,
      () => new SessionExpiredError(`lock ${JSON.stringify(this.name)}`, 'the waiter key was deleted (lease revoked or expired)'));
    const handoff = this.lockDelayMs > 0 ? new HandoffObserver(this.client, this.prefix, attempt.myRevision, attempt.header, this.clock) : undefined;
    try {
      let confirmedAt = await this.waitForTurn(attempt.myRevision, ownKey);
      if (handoff !== undefined) {
        const info = await handoff.settle(this.lockDelayMs, ownKey.signal);
        recordLockDelay(this.name, info.delayedMs, info.cause);
        this.options.onHandoff?.(info);
        // The lock-delay waited after the read that saw our key: look again.
        const mine = await this.client.get(this.key).signal(ownKey.current);
        const kv = mine.kvs[0];
        if (kv === undefined || kv.createRevision !== attempt.myRevision) throw this.keyGone();
        confirmedAt = mine.header.revision;
      }
      if (this.session.lost) throw this.keyGone();
      return this.confirm(attempt.myRevision, confirmedAt, releaseLocal);
    } catch (error) {
      if (!this.session.lost) await this.client.deleteOwnKey(this.key).catch(() => {});
      throw error;
    } finally {
      handoff?.dispose();
      ownKey.dispose();
    }
  }

  /**
   * Waits until no contender queued before us is left (etcd's waitDeletes, predecessor only).
   * Each round reads the two newest keys created at or before our revision: the first must be
   * ours (the wait may end because our lease expired and the server deleted our key along with
   * the others, so a turn is reported only on a read that still holds our key), the second is
   * our immediate predecessor, whose deletion is then watched. One read answers both at one
   * revision, so a hand-off costs one read after the predecessor's delete, not two. Resolves
   * with the header revision of the read that found us first in line.
   */
  private async waitForTurn(myRevision: bigint, ownKey: OwnKeyGuard): Promise<bigint> {
    for (;;) {
      const result = await this.client.get(this.prefix).prefix().sort('create', 'descend').limit(2).maxCreateRevision(myRevision)
        .signal(ownKey.current);
      const [mine, predecessor] = result.kvs;
      // Create revisions are unique under the prefix (our txn created only our key at ours).
      if (mine === undefined || mine.createRevision !== myRevision || mine.key !== this.key) throw this.keyGone();
      if (predecessor === undefined) return result.header.revision;
      await waitForDelete(this.client, predecessor.keyBytes, result.header.revision, ownKey.signal, predecessor.createRevision);
    }
  }

  private keyGone(): SessionExpiredError {
    return new SessionExpiredError(`lock ${JSON.stringify(this.name)}`, this.session.signal.reason);
  }

  /** Puts our key unless it exists and reads the oldest contender, in one txn. */
  private async enqueue(signal: AbortSignal): Promise<{ myRevision: bigint; owner: boolean; header: bigint }> {
    const oldest = this.client.get(this.prefix).prefix().sort('create', 'ascend').limit(1);
    let result: TxnResult;
    try {
      result = await this.client.txn()
        .if(compare.absent(this.key))
        .do(this.client.put(this.key, '').lease(this.session.leaseId), oldest)
        .else(this.client.get(this.key), oldest)
        .signal(signal);
    } catch (error) {
      // The put may or may not have landed; make sure we do not leave a waiter key behind.
      if (!this.session.lost) await this.client.deleteOwnKey(this.key).catch(() => {});
      throw error;
    }
    let myRevision = result.header.revision;
    if (!result.succeeded) {
      const mine = result.results[0];
      if (mine?.type === 'range' && mine.result.kvs[0] !== undefined) myRevision = mine.result.kvs[0].createRevision;
    }
    const oldestResult = result.results[1];
    const owner = oldestResult?.type === 'range' ? oldestResult.result.kvs[0] : undefined;
    return { myRevision, owner: owner === undefined || owner.createRevision === myRevision, header: result.header.revision };
  }

  private confirm(token: bigint, revision: bigint, releaseLocal: () => void): HeldLock {
    if (this.session.lost) {
      releaseLocal();
      throw new SessionExpiredError(`lock ${JSON.stringify(this.name)}`, this.session.signal.reason);
    }
    return new HeldLock({ session: this.session, key: this.key, token, revision, releaseLocal });
  }

  /** Session loss while waiting becomes SessionExpiredError; other reasons pass through. */
  private explain(error: unknown): unknown {
    if (error instanceof LockTimeoutError || error instanceof SessionExpiredError) return error;
    if (this.session.lost) return new SessionExpiredError(`lock ${JSON.stringify(this.name)}`, this.session.signal.reason);
    return error;
  }
}
