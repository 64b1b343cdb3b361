/**
 * An in-memory ServerPort for testing the gRPC adapters without a member: one MvccStore on
 * the `memory` backend, proposals applied at once at the next log index (so every write is
 * "committed" when propose resolves and the read barrier has nothing to wait for), a Lessor
 * on a FakeClock that is primary, an in-memory member list and alarm list. Counters let tests
 * check that reads took the barrier and writes went through propose.
 */
import { FakeClock } from '../../../../src/base/clock.js';
import { AlarmRequest_AlarmAction } from '../../../../src/gen/etcdserverpb/rpc_pb.js';
import { MvccStore, WatchableStore } from '../../../../src/mvcc/index.js';
import type { WriteRequest } from '../../../../src/mvcc/index.js';
import { putRequestFromPb, deleteRangeRequestFromPb, revisionFromWire, txnRequestFromPb } from '../../../../src/server/api/convert.js';
import type { AlarmInfo, MemberInfo, MemberStatusInfo, ProposalRequest, ServerPort } from '../../../../src/server/api/ports.js';
import { serverError } from '../../../../src/server/errors.js';
import { IdGenerator } from '../../../../src/server/ids.js';
import { Lessor } from '../../../../src/server/lessor/index.js';
import { create } from '@bufbuild/protobuf';
import { RaftRequestSchema } from '../../../../src/gen/conclave/internal_pb.js';
import { AuthGate } from '../../../../src/server/auth/gate.js';
import { proposerStamp, type CallIdentity } from '../../../../src/server/auth/caller.js';
import { AuthStore } from '../../../../src/server/auth/store.js';
import { SimpleTokens } from '../../../../src/server/auth/tokens.js';
import { applyAuthChange, refusalAtApply } from '../../../../src/server/auth/apply.js';
import type { TimeToLive } from '../../../../src/server/lessor/index.js';
import { MemoryBackend, writeSnapshot } from '../../../../src/storage/backend/index.js';

export interface MemoryPortOptions {
  readonly memberId?: bigint;
  readonly clusterId?: bigint;
  readonly clock?: FakeClock;
  readonly maxTxnOps?: number;
  /** Watch buffer per watcher (small values exercise the victim path). */
  readonly maxBufferedEvents?: number;
  /** Watch response size above which fragmenting watchers get fragments. */
  readonly maxResponseBytes?: number;
}

export class MemoryPort implements ServerPort {
  readonly memberId: bigint;
  readonly clock: FakeClock;
  readonly store: MvccStore;
  readonly watchable: WatchableStore;
  readonly lessor: Lessor;
  /** A real auth store and simple tokens, applied like the member's (auth off until enabled). */
  readonly auth: AuthGate;
  readonly counters = { proposals: 0, readBarriers: 0, defragments: 0 };
  /** When false, status() and role() report no leader (for require-leader tests). */
  hasLeader = true;
  /** When true, role() reports a learner (for the learner guard). */
  learner = false;
  private readonly clusterIdValue: bigint;
  private index = 0;
  private readonly ids: IdGenerator;
  private readonly memberList: MemberInfo[];
  private alarmList: AlarmInfo[] = [];
  private nextMemberId = 0x1000n;

  constructor(options: MemoryPortOptions = {}) {
    this.memberId = options.memberId ?? 0x8e9e05c52164694dn;
    this.clusterIdValue = options.clusterId ?? 0xcdf818194e3a8c32n;
    this.clock = options.clock ?? new FakeClock(0);
    this.store = MvccStore.open(new MemoryBackend(), { maxTxnOps: options.maxTxnOps ?? 128 });
    this.watchable = new WatchableStore(this.store, {
      maxBufferedEvents: options.maxBufferedEvents ?? 1024,
      ...(options.maxResponseBytes === undefined ? {} : { maxResponseBytes: options.maxResponseBytes }),
    });
    this.lessor = new Lessor(this.store, {
      clock: this.clock,
      onExpired: (ids) => {
        for (const id of ids) void this.propose({ case: 'leaseRevoke', value: { ID: id } as never }).catch(() => undefined);
      },
    });
    this.lessor.promote();
    this.auth = new AuthGate(new AuthStore(), new SimpleTokens(this.clock));
    this.ids = new IdGenerator(this.memberId, 1_700_000_000_000);
    this.memberList = [{ id: this.memberId, name: 'default', peerUrls: ['http://127.0.0.1:2380'], clientUrls: ['http://127.0.0.1:2379'], isLearner: false }];
  }

  clusterId(): bigint {
    return this.clusterIdValue;
  }

  raftTerm(): number {
    return 2;
  }

  role(): { leader: bigint; isLearner: boolean } {
    return { leader: this.hasLeader ? this.memberId : 0n, isLearner: this.learner };
  }

  propose(request: ProposalRequest, _signal?: AbortSignal, caller?: CallIdentity): Promise<unknown> {
    this.counters.proposals += 1;
    try {
      return Promise.resolve(this.apply(request, caller));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  linearizableReadBarrier(signal?: AbortSignal): Promise<void> {
    this.counters.readBarriers += 1;
    if (signal?.aborted) return Promise.reject(signal.reason);
    return Promise.resolve();
  }

  renewLease(id: bigint): Promise<number> {
    try {
      return Promise.resolve(this.lessor.renew(id));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  leaseTimeToLive(id: bigint, withKeys: boolean): Promise<TimeToLive> {
    return Promise.resolve(this.lessor.timeToLive(id, withKeys));
  }

  members(): readonly MemberInfo[] {
    return this.memberList;
  }

  addMember(peerUrls: readonly string[], isLearner: boolean): Promise<MemberInfo> {
    if (this.memberList.some((m) => m.peerUrls.some((u) => peerUrls.includes(u)))) return Promise.reject(serverError('peerUrlExist'));
    const member: MemberInfo = { id: this.nextMemberId++, name: '', peerUrls: [...peerUrls], clientUrls: [], isLearner };
    this.memberList.push(member);
    return Promise.resolve(member);
  }

  removeMember(id: bigint): Promise<void> {
    const i = this.memberList.findIndex((m) => m.id === id);
    if (i < 0) return Promise.reject(serverError('memberNotFound'));
    this.memberList.splice(i, 1);
    return Promise.resolve();
  }

  updateMember(id: bigint, peerUrls: readonly string[]): Promise<void> {
    const i = this.memberList.findIndex((m) => m.id === id);
    if (i < 0) return Promise.reject(serverError('memberNotFound'));
    this.memberList[i] = { ...this.memberList[i]!, peerUrls: [...peerUrls] };
    return Promise.resolve();
  }

  promoteMember(id: bigint): Promise<void> {
    const i = this.memberList.findIndex((m) => m.id === id);
    if (i < 0) return Promise.reject(serverError('memberNotFound'));
    if (!this.memberList[i]!.isLearner) return Promise.reject(serverError('memberNotLearner'));
    this.memberList[i] = { ...this.memberList[i]!, isLearner: false };
    return Promise.resolve();
  }

  alarms(): readonly AlarmInfo[] {
    return this.alarmList;
  }

  status(): MemberStatusInfo {
    let bytes = 0;
    for (const entry of this.store.backend.entries()) bytes += entry.key.length + entry.value.length;
    return {
      memberId: this.memberId, leader: this.hasLeader ? this.memberId : 0n, raftIndex: this.index, raftTerm: 2, raftAppliedIndex: this.index,
      dbSizeBytes: bytes, dbSizeInUseBytes: bytes, isLearner: false, errors: [],
    };
  }

  moveLeader(target: bigint): Promise<void> {
    if (target === this.memberId) return Promise.resolve();
    return Promise.reject(serverError('badLeaderTransferee'));
  }

  async *backendSnapshot(): AsyncIterable<Uint8Array> {
    yield* writeSnapshot(this.store.backend, 4096);
  }

  defragment(): Promise<void> {
    this.counters.defragments += 1;
    return Promise.resolve();
  }

  close(): void {
    this.watchable.close();
  }

  private apply(request: ProposalRequest, caller: CallIdentity | undefined): unknown {
    const position = { index: ++this.index, term: 2 };
    const message = create(RaftRequestSchema, { id: 0n, request, ...proposerStamp(caller) });
    const refused = refusalAtApply(this.auth.store, message, (id) => this.lessor.timeToLive(id, true).keys);
    if (refused !== undefined) throw refused;
    switch (request.case) {
      case 'auth': {
        const outcome = applyAuthChange(this.auth.store, this.store, position, message);
        if (outcome === undefined) throw new Error('a log entry was applied twice');
        if (!outcome.ok) throw outcome.error;
        return outcome.value;
      }
      case 'put':
        return this.store.apply(position, { put: putRequestFromPb(request.value) });
      case 'deleteRange':
        return this.store.apply(position, { deleteRange: deleteRangeRequestFromPb(request.value) });
      case 'txn':
        return this.store.apply(position, { txn: txnRequestFromPb(request.value) });
      case 'compaction': {
        const write: WriteRequest = { compact: { revision: revisionFromWire(request.value.revision) } };
        return this.store.apply(position, write);
      }
      case 'leaseGrant': {
        const id = request.value.ID === 0n ? this.ids.nextLeaseId() : request.value.ID;
        return unwrap(this.store.applyWith(position, (txn) => this.lessor.grant(txn, id, Number(request.value.TTL))));
      }
      case 'leaseRevoke':
        return unwrap(this.store.applyWith(position, (txn) => this.lessor.revoke(txn, request.value.ID)));
      case 'alarm': {
        // As etcd's applier: GET lists all, ACTIVATE/DEACTIVATE answer with the alarm they changed.
        const { action, memberID, alarm } = request.value;
        const exists = this.alarmList.some((a) => a.memberId === memberID && a.alarm === alarm);
        if (action === AlarmRequest_AlarmAction.GET) return this.alarmList;
        if (action === AlarmRequest_AlarmAction.ACTIVATE) {
          if (exists) return [];
          this.alarmList = [...this.alarmList, { memberId: memberID, alarm }];
          return [{ memberId: memberID, alarm }];
        }
        if (!exists) return [];
        this.alarmList = this.alarmList.filter((a) => !(a.memberId === memberID && a.alarm === alarm));
        return [{ memberId: memberID, alarm }];
      }
      default:
        throw new Error(`the memory port does not apply ${String(request.case)}`);
    }
  }
}

function unwrap<T>(result: { kind: 'ok'; value: T } | { kind: 'error'; error: Error } | { kind: 'already-applied' }): T {
  if (result.kind === 'ok') return result.value;
  if (result.kind === 'error') throw result.error;
  throw new Error('a log entry was applied twice');
}
