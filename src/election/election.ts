/**
 * Leader election with etcd's key layout (`<name>/<lease id in hex>`, value = the proposal),
 * so it interoperates with `etcdctl elect` and Go clients: the oldest key (lowest create
 * revision) leads; a candidate waits only for its immediate predecessor.
 *
 * Beyond etcd's Go Election: a campaign fails as soon as the session is lost while waiting
 * (etcd#19597), never reports leadership after its key vanished, candidates sharing a session in
 * one process queue locally, the leadership carries an AbortSignal, and `observe()` reports
 * `null` when nobody leads.
 */
import { InvalidOptionError, linkSignals, requireInteger, toHex } from '../base/index.js';
import { compare, WatchCompactedError } from '../client/index.js';
import type { CallOptions, Client, KeyValue } from '../client/index.js';
import type { Session } from '../lease/index.js';
import { HeldLock, LockLostError, LockTimeoutError, SessionExpiredError, abortOnDelete, acquireLocal, startCycle, trackHold, waitForPredecessors } from '../lock/index.js';

export interface CampaignOptions {
  /** Stops campaigning (withdrawing the candidacy) when it aborts; rejects with its reason. */
  readonly signal?: AbortSignal;
  /** Stops campaigning after this long with ERR_LOCK_TIMEOUT. */
  readonly timeoutMs?: number;
}

/** Who leads: the leader key, its current value and its fencing token. */
export interface LeaderInfo {
  readonly key: string;
  readonly value: string;
  /** The leader key's create revision: increases with each new leadership. */
  readonly token: bigint;
  readonly lease: bigint;
  /** Revision of the last proclamation (or of the campaign). */
  readonly modRevision: bigint;
}

/** One candidate of an election, as `candidates()` lists them. */
export interface Candidate extends LeaderInfo {
  /** True for the first in line: the leader. */
  readonly leader: boolean;
  /** Revision at which the candidate joined (its create revision, the token). */
  readonly campaigningSinceRevision: bigint;
}

function toInfo(kv: KeyValue): LeaderInfo {
  return { key: kv.key, value: kv.value, token: kv.createRevision, lease: kv.lease, modRevision: kv.modRevision };
}

/** A won election. `signal` aborts when leadership is lost (session ended, key deleted) or resigned. */
export class Leadership extends HeldLock {
  private readonly leaseId: bigint;
  private readonly owner: Client;

  constructor(init: ConstructorParameters<typeof HeldLock>[0]) {
    super(init);
    this.leaseId = init.session.leaseId;
    this.owner = init.session.client;
  }

  /** Publishes a new value while still leading; fails with ERR_LOCK_LOST if not. */
  async proclaim(value: string, options: CallOptions = {}): Promise<void> {
    const result = await this.owner.txn().if(this.ifOwner()).do(this.owner.put(this.key, value).lease(this.leaseId)).signal(options.signal ?? this.signal);
    if (!result.succeeded) throw new LockLostError(this.key, 'not the leader any more');
  }

  /** Gives up leadership (deletes the leader key). Idempotent. */
  resign(): Promise<void> {
    return this.unlock();
  }
}

export class Election {
  readonly prefix: string;
  /** This session's candidate key. */
  readonly key: string;
  private readonly client: Client;

  constructor(readonly session: Session, readonly name: string) {
    if (typeof name !== 'string' || name.length === 0) throw new InvalidOptionError('name', 'must be a non-empty string');
    this.client = session.client;
    this.prefix = `${name}/`;
    this.key = `${this.prefix}${toHex(session.leaseId)}`;
  }

  /** Waits until this session leads, with `value` as the published proposal. */
  async campaign(value: string, options: CampaignOptions = {}): Promise<Leadership> {
    const timeout = options.timeoutMs === undefined ? undefined : requireInteger('timeoutMs', options.timeoutMs, 0);
    // Without a time limit there is nothing to link a timer signal for.
    const timer = timeout === undefined ? undefined : new AbortController();
    const cancelTimer = timeout === undefined ? undefined : this.client.clock.setTimer(timeout, () => timer!.abort(new LockTimeoutError(this.name, timeout)));
    const linked = linkSignals(options.signal, timer?.signal, this.session.signal);
    const cycle = startCycle('election', this.name, this.client);
    try {
      const releaseLocal = await acquireLocal(this.session, `election:${this.name}`, linked.signal).catch((error: unknown) => {
        throw this.explain(error);
      });
      try {
        const leadership = await this.runCampaign(value, linked.signal, releaseLocal);
        trackHold(cycle, leadership);
        return leadership;
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

  /** The current leader, or null when nobody leads. */
  async leader(options: CallOptions = {}): Promise<LeaderInfo | null> {
    const first = await this.client.get(this.prefix).prefix().sort('create', 'ascend').limit(1).signal(options.signal ?? new AbortController().signal);
    const kv = first.kvs[0];
    return kv === undefined ? null : toInfo(kv);
  }

  /**
   * Every candidate in line, the leader first (`leader: true`), each with its proposal value,
   * fencing token, lease and the revision it joined at. A snapshot at one revision.
   */
  async candidates(options: CallOptions = {}): Promise<Candidate[]> {
    const builder = this.client.get(this.prefix).prefix().sort('create', 'ascend');
    const result = await (options.signal === undefined ? builder : builder.signal(options.signal));
    return result.kvs.map((kv, index) => ({ ...toInfo(kv), leader: index === 0, campaigningSinceRevision: kv.createRevision }));
  }

  /**
   * Every change of leader or leader value, starting with the current state; `null` when nobody
   * leads. Ends (throws the reason) when `signal` aborts.
   */
  async *observe(options: { signal?: AbortSignal } = {}): AsyncGenerator<LeaderInfo | null> {
    const signal = options.signal ?? new AbortController().signal;
    let last: LeaderInfo | null | undefined;
    for (;;) {
      const current = await this.client.get(this.prefix).prefix().sort('create', 'ascend').limit(1).signal(signal);
      const kv = current.kvs[0];
      if (kv === undefined) {
        if (last !== null) yield (last = null);
        const watcher = this.client.watch(this.prefix, { prefix: true, startRevision: current.header.revision + 1n, noDelete: true, signal });
        try {
          for await (const event of watcher) if (event.type === 'put') break;
        } catch (error) {
          // History compacted while we were away: read the state again.
          if (!(error instanceof WatchCompactedError)) throw error;
        } finally {
          watcher.close();
        }
        continue;
      }
      let info = toInfo(kv);
      if (last === null || last === undefined || last.key !== info.key || last.modRevision !== info.modRevision) yield (last = info);
      const watcher = this.client.watch(kv.keyBytes, { startRevision: current.header.revision + 1n, signal });
      try {
        for await (const event of watcher) {
          if (event.type === 'delete') break;
          info = toInfo(event.kv);
          yield (last = info);
        }
      } catch (error) {
        if (!(error instanceof WatchCompactedError)) throw error;
      } finally {
        watcher.close();
      }
    }
  }

  private async runCampaign(value: string, signal: AbortSignal, releaseLocal: () => void): Promise<Leadership> {
    const result = await this.client.txn()
      .if(compare.absent(this.key))
      .do(this.client.put(this.key, value).lease(this.session.leaseId))
      .else(this.client.get(this.key))
      .signal(signal)
      .catch(async (error: unknown) => {
        if (!this.session.lost) await this.client.deleteOwnKey(this.key).catch(() => {});
        throw error;
      });
    let myRevision = result.header.revision;
    if (!result.succeeded) {
      const existing = result.results[0]?.type === 'range' ? result.results[0].result.kvs[0] : undefined;
      if (existing !== undefined) {
        myRevision = existing.createRevision;
        if (existing.value !== value) {
          await this.client.txn().if(compare.createRevision(this.key, '==', myRevision)).do(this.client.put(this.key, value).lease(this.session.leaseId)).signal(signal);
        }
      }
    }
    const ownKey = abortOnDelete(this.client, this.key, result.header.revision, signal,
      () => new SessionExpiredError(`campaign ${JSON.stringify(this.name)}`, 'the candidate key was deleted (lease revoked or expired)'));
    try {
      // No predecessor: no own-key watch is created (the guard starts it only to block).
      await waitForPredecessors(this.client, this.prefix, myRevision - 1n, ownKey);
      const mine = await this.client.get(this.key).signal(ownKey.current);
      const kv = mine.kvs[0];
      if (kv === undefined || kv.createRevision !== myRevision || this.session.lost) {
        throw new SessionExpiredError(`campaign ${JSON.stringify(this.name)}`, this.session.signal.reason);
      }
      return new Leadership({ session: this.session, key: this.key, token: myRevision, revision: mine.header.revision, releaseLocal });
    } catch (error) {
      if (!this.session.lost) await this.client.deleteOwnKey(this.key).catch(() => {});
      throw error;
    } finally {
      ownKey.dispose();
    }
  }

  private explain(error: unknown): unknown {
    if (error instanceof LockTimeoutError || error instanceof SessionExpiredError) return error;
    if (this.session.lost) return new SessionExpiredError(`campaign ${JSON.stringify(this.name)}`, this.session.signal.reason);
    return error;
  }
}
