import type { Clock } from '../base/clock.js';
import type { ConfChange, RawNode } from '../raft/index.js';
import { ProposalDroppedError } from '../raft/index.js';
import type { ProposalRequest } from './api/ports.js';
import { proposerStamp, type CallIdentity } from './auth/caller.js';
import type { AppliedOutcome } from './applier.js';
import { encodeRaftRequest } from './applier.js';
import { serverError } from './errors.js';
import type { IdGenerator } from './ids.js';
import { WaitRegistry } from './wait.js';

/** Most proposals waiting to be applied on one member at once. */
export const MAX_PENDING_PROPOSALS = 10_000;
/** etcd refuses new requests when committed entries wait this far behind the applied index. */
export const MAX_APPLY_GAP = 5_000;

/** What proposing needs from the member (declared by the consumer). */
export interface ProposerTarget {
  readonly rawNode: RawNode;
  readonly clock: Clock;
  readonly ids: IdGenerator;
  readonly tickMs: number;
  readonly requestTimeoutMs: number;
  readonly maxRequestBytes: number;
  isStopped(): boolean;
  appliedIndex(): number;
  /** Schedules the ready loop (after every input to the RawNode). */
  kick(): void;
  /** A proposal ended in an error (etcd_server_proposals_failed_total). */
  proposalFailed(): void;
}

/**
 * Design rule 3, propose-register-await: a request gets an id, registers in the wait
 * registry, is proposed (waiting up to the request timeout for a leader when there is none),
 * and is resolved by the applier at the index where it was applied. Every exit path (timeout,
 * abort, stop) clears its registry entry. Also the one place that waits for a leader.
 */
export class Proposer {
  readonly waits = new WaitRegistry<AppliedOutcome>(MAX_PENDING_PROPOSALS);
  private readonly leaderWaiters = new Set<() => void>();

  constructor(private readonly target: ProposerTarget) {}

  /**
   * Proposes `request` stamped with `caller`'s user and auth revision, which the applier
   * re-checks writes with; no caller: the member's own proposal (internal, not re-checked).
   */
  async propose(request: ProposalRequest, signal?: AbortSignal, caller?: CallIdentity): Promise<unknown> {
    const { ids, rawNode } = this.target;
    const id = ids.next();
    // Lease ids are chosen by the proposing member so every member grants the same id.
    if (request.case === 'leaseGrant' && request.value.ID === 0n) {
      request = { case: 'leaseGrant', value: { ...request.value, ID: ids.nextLeaseId() } };
    }
    return this.proposeData(id, encodeRaftRequest(id, request, proposerStamp(caller)), (data) => rawNode.propose(data), signal);
  }

  /**
   * Proposes a membership change whose context carries `requestId`; resolves with the member
   * list. `retryDropped: false` rejects with raft's ProposalDroppedError when raft refuses the
   * change now, for a caller that must check it again before proposing it again (membership.ts).
   */
  async proposeConfChange(requestId: bigint, change: ConfChange, signal?: AbortSignal, options: { readonly retryDropped?: boolean } = {}): Promise<unknown> {
    return this.proposeData(requestId, change.context, () => this.target.rawNode.proposeConfChange(change), signal, options.retryDropped ?? true);
  }

  /** Hands an applied entry's outcome to the caller waiting on `requestId` here, if any. */
  deliver(requestId: bigint, outcome: AppliedOutcome): void {
    this.waits.trigger(requestId, outcome);
  }

  /** A leader is known (again): wake everything waiting for one. */
  leaderKnown(): void {
    for (const wake of [...this.leaderWaiters]) wake();
  }

  /** The leader's id, waiting for an election to finish if there is none right now. */
  async currentLeader(signal?: AbortSignal): Promise<bigint> {
    const { clock, rawNode } = this.target;
    const deadline = clock.nowMs() + this.target.requestTimeoutMs;
    while (rawNode.raft.lead === 0n) {
      if (clock.nowMs() >= deadline) throw serverError('noLeader');
      await this.waitForLeader(deadline, signal);
    }
    return rawNode.raft.lead;
  }

  /** Resolves once `target` leads (MoveLeader), or rejects at the request timeout. */
  async untilLeader(target: bigint, signal?: AbortSignal): Promise<void> {
    const { clock, rawNode } = this.target;
    const deadline = clock.nowMs() + this.target.requestTimeoutMs;
    while (rawNode.raft.lead !== target) {
      if (clock.nowMs() >= deadline) throw serverError('timeoutDueToLeaderFail');
      await this.waitForLeader(deadline, signal);
    }
  }

  /** Rejects every waiting proposal (the member stops). */
  close(reason: unknown): void {
    this.waits.cancelAll(reason);
  }

  private async proposeData(id: bigint, data: Uint8Array, submit: (data: Uint8Array) => void, signal: AbortSignal | undefined, retryDropped = true): Promise<unknown> {
    const { clock, rawNode } = this.target;
    if (this.target.isStopped()) throw serverError('stopped');
    if (signal?.aborted) throw signal.reason;
    if (data.byteLength > this.target.maxRequestBytes) throw serverError('requestTooLarge');
    if (rawNode.raft.raftLog.committed - this.target.appliedIndex() > MAX_APPLY_GAP) throw serverError('tooManyRequests');
    const outcome = this.waits.register(id);
    // The registry may reject it (close, timeout) before it is awaited below.
    outcome.catch(() => undefined);
    const deadline = clock.nowMs() + this.target.requestTimeoutMs;
    let cancelTimer: (() => void) | undefined;
    const onAbort = (): void => this.waits.cancel(id, signal!.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      // Without a leader, wait for one (up to the request timeout) rather than fail at once.
      for (;;) {
        try {
          submit(data);
          this.target.kick();
          break;
        } catch (error) {
          if (!(error instanceof ProposalDroppedError) || !retryDropped) throw error;
          if (clock.nowMs() >= deadline) throw serverError(rawNode.raft.lead === 0n ? 'noLeader' : 'timeout');
          await this.waitForLeader(deadline, signal);
        }
      }
      cancelTimer = clock.setTimer(Math.max(0, deadline - clock.nowMs()), () => this.waits.cancel(id, serverError('timeout')));
      const result = await outcome;
      if (!result.ok) throw result.error;
      return result.value;
    } catch (error) {
      this.waits.cancel(id, error);
      this.target.proposalFailed();
      throw error;
    } finally {
      cancelTimer?.();
      signal?.removeEventListener('abort', onAbort);
    }
  }

  private waitForLeader(deadline: number, signal: AbortSignal | undefined): Promise<void> {
    const { clock } = this.target;
    return new Promise((resolve, reject) => {
      const finish = (): void => {
        this.leaderWaiters.delete(finish);
        cancel();
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = (): void => {
        this.leaderWaiters.delete(finish);
        cancel();
        reject(signal!.reason);
      };
      // Retry at least every tick: a proposal may also be refused during a leadership transfer.
      const cancel = clock.setTimer(Math.min(this.target.tickMs, Math.max(0, deadline - clock.nowMs())), finish);
      this.leaderWaiters.add(finish);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}
