import type { Clock } from '../base/clock.js';
import { deferred } from '../base/deferred.js';
import type { Deferred } from '../base/deferred.js';
import type { ReadState } from '../raft/index.js';
import { ProposalDroppedError } from '../raft/index.js';
import { serverError } from './errors.js';

/** What the batcher needs from the member. */
export interface ReadIndexTarget {
  /** Asks raft for a read index with this context (throws ProposalDroppedError without a leader). */
  requestReadIndex(context: Uint8Array): void;
  appliedIndex(): number;
  /**
   * The read index this member may give without a ReadIndex round, or undefined: its commit
   * index while it leads as the only voter (raft answers such a leader's ReadIndex at once, at
   * its commit index, since no other member can be elected or commit; etcd-raft does the same).
   */
  localReadIndex?(): number | undefined;
  /**
   * This member's id, the first half of every context. The leader keeps one table of pending
   * requests keyed by context for the whole cluster and ignores a context it already holds, so
   * contexts must be unique across members, not only on one.
   */
  readonly memberId?: bigint;
}

interface Batch {
  readonly context: string;
  readonly waiters: Array<Deferred<void>>;
  readIndex: number | undefined;
  readonly cancelTimeout: () => void;
  /** Cancels the pending re-request (set while the round waits for its read state). */
  cancelRetry: () => void;
}

/**
 * A round with no read state after this long asks raft again with the same context (etcd's
 * readIndexRetryTime): a ReadIndex request or response lost on the way (a follower's forward
 * dropped while the leader was unknown or busy, a peer message dropped) would otherwise hold
 * every later linearizable read on this member until the request timeout.
 */
export const READ_INDEX_RETRY_MS = 500;

const RESOLVED: Promise<void> = Promise.resolve();

/**
 * Linearizable reads, batched (etcd's linearizableReadLoop): every read arriving while no
 * ReadIndex round is in flight joins the next round; one round per batch confirms leadership,
 * and its waiters are released once this member has applied up to the read index. Contexts
 * are unique (this member's id and a counter, never reused), so a late answer can never
 * release a later batch, and two members' requests never share a context on the leader.
 * Bounded: at most `maxWaiters` reads wait at once ("too many requests" beyond that).
 */
export class ReadIndexBatcher {
  private counter = 0n;
  private next: Array<Deferred<void>> = [];
  private readonly inFlight = new Map<string, Batch>();
  private readonly awaitingApply: Batch[] = [];

  constructor(
    private readonly target: ReadIndexTarget,
    private readonly clock: Clock,
    private readonly timeoutMs: number,
    private readonly maxWaiters: number,
  ) {}

  private waiting(): number {
    let count = this.next.length;
    for (const batch of this.inFlight.values()) count += batch.waiters.length;
    for (const batch of this.awaitingApply) count += batch.waiters.length;
    return count;
  }

  /** Resolves once this member's state machine reflects everything committed before the call. */
  wait(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.waiting() >= this.maxWaiters) return Promise.reject(serverError('tooManyRequests'));
    const local = this.target.localReadIndex?.();
    // A sole-voter leader's read index is its commit index: no round, no timers, and nothing to
    // wait for at all once that is applied (the common case, as writes are answered after apply).
    if (local !== undefined && this.target.appliedIndex() >= local) return RESOLVED;
    const waiter = deferred<void>();
    if (local !== undefined) this.awaitApplyOf(local, waiter);
    else {
      this.next.push(waiter);
      if (this.inFlight.size === 0) this.startRound();
    }
    if (signal === undefined) return waiter.promise;
    return new Promise((resolve, reject) => {
      const onAbort = (): void => reject(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
      waiter.promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
    });
  }

  /** A read whose index is known without a round: released by onApplied, failed by its timeout. */
  private awaitApplyOf(readIndex: number, waiter: Deferred<void>): void {
    this.counter += 1n;
    const context = `local-${this.counter}`;
    const cancelTimeout = this.clock.setTimer(this.timeoutMs, () => this.fail(context, serverError('timeout')));
    this.awaitingApply.push({ context, waiters: [waiter], readIndex, cancelTimeout, cancelRetry: () => {} });
  }

  private startRound(): void {
    if (this.next.length === 0) return;
    const waiters = this.next;
    this.next = [];
    this.counter += 1n;
    const bytes = new Uint8Array(16);
    const view = new DataView(bytes.buffer);
    view.setBigUint64(0, BigInt.asUintN(64, this.target.memberId ?? 0n));
    view.setBigUint64(8, this.counter);
    const context = Buffer.from(bytes).toString('hex');
    const cancelTimeout = this.clock.setTimer(this.timeoutMs, () => this.fail(context, serverError('timeout')));
    const batch: Batch = { context, waiters, readIndex: undefined, cancelTimeout, cancelRetry: () => {} };
    this.inFlight.set(context, batch);
    try {
      this.target.requestReadIndex(bytes);
    } catch (error) {
      this.fail(context, error instanceof ProposalDroppedError ? serverError('noLeader') : error);
      return;
    }
    const retry = (): void => {
      if (this.inFlight.get(context) !== batch) return;
      try {
        this.target.requestReadIndex(bytes);
      } catch {
        // No leader right now: the next retry (or the round's timeout) deals with it.
      }
      batch.cancelRetry = this.clock.setTimer(READ_INDEX_RETRY_MS, retry);
    };
    batch.cancelRetry = this.clock.setTimer(READ_INDEX_RETRY_MS, retry);
  }

  /** Read states handed out by a Ready. */
  onReadStates(states: readonly ReadState[]): void {
    for (const state of states) {
      const context = Buffer.from(state.requestContext).toString('hex');
      const batch = this.inFlight.get(context);
      // Unknown: an answer to a retried request whose round was already answered.
      if (batch === undefined) continue;
      this.inFlight.delete(context);
      batch.cancelRetry();
      batch.readIndex = state.index;
      this.awaitingApply.push(batch);
    }
    this.onApplied();
    if (this.inFlight.size === 0) this.startRound();
  }

  /** Called after entries are applied: releases batches whose read index is reached. */
  onApplied(): void {
    const applied = this.target.appliedIndex();
    for (let i = this.awaitingApply.length - 1; i >= 0; i--) {
      const batch = this.awaitingApply[i]!;
      if (batch.readIndex! > applied) continue;
      this.awaitingApply.splice(i, 1);
      batch.cancelTimeout();
      for (const waiter of batch.waiters) waiter.resolve();
    }
  }

  private fail(context: string, error: unknown): void {
    const batch = this.inFlight.get(context) ?? this.awaitingApply.find((b) => b.context === context);
    if (batch === undefined) return;
    this.inFlight.delete(context);
    const at = this.awaitingApply.indexOf(batch);
    if (at >= 0) this.awaitingApply.splice(at, 1);
    batch.cancelTimeout();
    batch.cancelRetry();
    for (const waiter of batch.waiters) waiter.reject(error);
    if (this.inFlight.size === 0) this.startRound();
  }

  /** Rejects every waiting read (the member stops). */
  close(error: unknown): void {
    for (const context of [...this.inFlight.keys()]) this.fail(context, error);
    for (const batch of this.awaitingApply.splice(0)) {
      batch.cancelTimeout();
      for (const waiter of batch.waiters) waiter.reject(error);
    }
    for (const waiter of this.next.splice(0)) waiter.reject(error);
  }
}
