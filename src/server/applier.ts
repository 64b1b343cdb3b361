import type { ProposerStamp } from './auth/caller.js';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import type { ConfChange, ConfState, Entry } from '../raft/index.js';
import { decodeConfChange } from '../raft/index.js';
import type { MvccStore } from '../mvcc/index.js';
import type { ApplyTxn } from '../mvcc/index.js';
import { RaftRequestSchema } from '../gen/conclave/internal_pb.js';
import type { RaftRequest } from '../gen/conclave/internal_pb.js';
import { AlarmRequest_AlarmAction, AlarmType } from '../gen/etcdserverpb/rpc_pb.js';
import type { Lessor } from './lessor/index.js';
import { deleteRangeRequestFromPb, putRequestFromPb, txnRequestFromPb } from './api/convert.js';
import type { AlarmInfo } from './api/ports.js';
import { CLUSTER_STATE_KEY, memberFromPb } from './cluster-state.js';
import type { ClusterState } from './cluster-state.js';
import { serverError } from './errors.js';
import type { AuthStore } from './auth/store.js';
import { applyAuthChange, refusalAtApply } from './auth/apply.js';

/** What a waiting proposer receives: the value applying produced, or the etcd error it answers with. */
export type AppliedOutcome = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: Error };

/** The parts of the member the applier drives (declared here, by the consumer). */
export interface ApplierTarget {
  readonly store: MvccStore;
  readonly lessor: Lessor;
  readonly cluster: ClusterState;
  readonly memberId: bigint;
  /** The replicated auth store (absent: no auth, as in tests of the applier alone). */
  readonly auth?: AuthStore;
  /** Applies a committed membership change to raft and returns the configuration now in force. */
  applyConfChange(change: ConfChange): ConfState;
  /** Hands the outcome to the caller waiting on `requestId` on this member, if any. */
  deliver(requestId: bigint, outcome: AppliedOutcome): void;
  /** This member was removed from the cluster. */
  onRemoved(): void;
}

const NOSPACE = AlarmType.NOSPACE;

/**
 * Applies committed raft entries to the key space, the lessor and the cluster state, one
 * entry at a time and in log order. Every entry records its (index, term) in the backend in
 * the same atomic write as its effects, so an entry replayed after a restart is skipped by
 * the store; membership changes are applied to raft on every replay (raft rebuilds its
 * configuration from the snapshot plus the entries after it).
 */
export class Applier {
  appliedIndex = 0;
  confState: ConfState | undefined;

  constructor(private readonly target: ApplierTarget) {}

  apply(entry: Entry): void {
    if (entry.type === 'confChange') this.applyConfChange(entry);
    else if (entry.data.byteLength === 0) this.applyEmpty(entry);
    else this.applyRequest(entry, fromBinary(RaftRequestSchema, entry.data));
    this.appliedIndex = entry.index;
  }

  /** A new leader's no-op: it only moves the applied position. */
  private applyEmpty(entry: Entry): void {
    this.target.store.applyWith({ index: entry.index, term: entry.term }, () => undefined);
  }

  private applyRequest(entry: Entry, message: RaftRequest): void {
    const { store, lessor, cluster } = this.target;
    const position = { index: entry.index, term: entry.term };
    const request = message.request;
    const noSpace = cluster.alarms.some((a) => a.alarm === NOSPACE);
    let outcome: AppliedOutcome | undefined;
    const fromResult = (result: { kind: 'ok'; value?: unknown; response?: unknown } | { kind: 'error'; error: Error } | { kind: 'already-applied' }): AppliedOutcome | undefined => {
      if (result.kind === 'already-applied') return undefined;
      if (result.kind === 'error') return { ok: false, error: result.error };
      return { ok: true, value: 'response' in result ? result.response : result.value };
    };
    const refused = refusalAtApply(this.target.auth, message, (id) => lessor.timeToLive(id, true).keys);
    if (refused !== undefined) {
      const result = this.refuseUnlessApplied(position, refused);
      if (result !== undefined) this.target.deliver(message.id, result);
      return;
    }
    switch (request.case) {
      case 'auth':
        outcome = this.target.auth === undefined ? this.refuseUnlessApplied(position, serverError('authNotEnabled')) : applyAuthChange(this.target.auth, store, position, message);
        break;
      case 'put':
      case 'deleteRange':
      case 'txn': {
        if (noSpace && request.case !== 'deleteRange' && writes(request)) {
          outcome = this.refuseUnlessApplied(position, serverError('noSpace'));
          break;
        }
        const op = request.case === 'put'
          ? { put: putRequestFromPb(request.value) }
          : request.case === 'deleteRange'
            ? { deleteRange: deleteRangeRequestFromPb(request.value) }
            : { txn: txnRequestFromPb(request.value) };
        outcome = fromResult(store.apply(position, op));
        break;
      }
      case 'compaction':
        outcome = fromResult(store.apply(position, { compact: { revision: Number(request.value.revision) } }));
        break;
      case 'leaseGrant': {
        if (noSpace) {
          outcome = this.refuseUnlessApplied(position, serverError('noSpace'));
          break;
        }
        const { ID, TTL } = request.value;
        outcome = fromResult(store.applyWith(position, (txn) => lessor.grant(txn, ID, Number(TTL))));
        break;
      }
      case 'leaseRevoke':
        outcome = fromResult(store.applyWith(position, (txn) => lessor.revoke(txn, request.value.ID)));
        break;
      case 'leaseCheckpoint':
        outcome = fromResult(store.applyWith(position, (txn) => lessor.applyCheckpoint(txn, request.value.checkpoints.map((c) => ({ id: c.ID, remainingTtlSeconds: Number(c.remainingTTL) })))));
        break;
      case 'alarm':
        outcome = fromResult(store.applyWith(position, (txn) => this.applyAlarm(txn, request.value.action, request.value.memberID, request.value.alarm)));
        break;
      case 'memberUpdate': {
        const attributes = memberFromPb(request.value);
        const member = cluster.members.get(attributes.id);
        if (member === undefined) {
          outcome = this.refuseUnlessApplied(position, serverError('memberNotFound'));
          break;
        }
        // Checked again here, as etcd's ValidateConfigurationChange checks an update when it is
        // applied: the proposer checked its own view, which two updates proposed before either
        // applied (or one through a follower behind the leader) both pass. Every member applies
        // the same log in the same order, so all of them refuse the same update.
        if ([...cluster.members.values()].some((m) => m.id !== attributes.id && m.peerUrls.some((url) => attributes.peerUrls.includes(url)))) {
          outcome = this.refuseUnlessApplied(position, serverError('peerUrlExist'));
          break;
        }
        outcome = fromResult(store.applyWith(position, (txn) => {
          // Empty fields keep what the member has: a member's own publish (member-services.ts)
          // sends no peer URLs, as etcd's ClusterAttributes carry none, so it cannot undo a
          // MemberUpdate applied while the publish was in flight; MemberUpdate always has some.
          cluster.members.set(attributes.id, {
            ...member,
            ...(attributes.peerUrls.length === 0 ? {} : { peerUrls: attributes.peerUrls }),
            ...(attributes.name === '' ? {} : { name: attributes.name }),
            ...(attributes.clientUrls.length === 0 ? {} : { clientUrls: attributes.clientUrls }),
          });
          this.writeCluster(txn);
        }));
        break;
      }
      case undefined:
        // An empty request: nothing to do but record the position.
        store.applyWith(position, () => undefined);
        return;
    }
    if (outcome !== undefined) this.target.deliver(message.id, outcome);
  }

  /** Records the entry as applied with no effect, answering `error` (etcd's capped applier). */
  private refuseUnlessApplied(position: { index: number; term: number }, error: Error): AppliedOutcome | undefined {
    const result = this.target.store.applyWith(position, () => undefined);
    return result.kind === 'already-applied' ? undefined : { ok: false, error };
  }

  private applyAlarm(txn: ApplyTxn, action: AlarmRequest_AlarmAction, memberId: bigint, alarm: AlarmType): AlarmInfo[] {
    const { cluster } = this.target;
    const matches = (a: AlarmInfo): boolean => (memberId === 0n || a.memberId === memberId) && (alarm === AlarmType.NONE || a.alarm === alarm);
    if (action === AlarmRequest_AlarmAction.GET) return cluster.alarms.filter(matches);
    if (action === AlarmRequest_AlarmAction.ACTIVATE) {
      if (alarm === AlarmType.NONE) return [];
      if (!cluster.alarms.some((a) => a.memberId === memberId && a.alarm === alarm)) cluster.alarms.push({ memberId, alarm });
      this.writeCluster(txn);
      return [{ memberId, alarm }];
    }
    const removed = cluster.alarms.filter(matches);
    cluster.alarms = cluster.alarms.filter((a) => !matches(a));
    this.writeCluster(txn);
    return removed;
  }

  private applyConfChange(entry: Entry): void {
    const { store, cluster } = this.target;
    const change = decodeConfChange(entry.data);
    const context = change.context.byteLength > 0 ? fromBinary(RaftRequestSchema, change.context) : undefined;
    const attributes = context?.request.case === 'memberUpdate' ? memberFromPb(context.request.value) : undefined;
    const result = store.applyWith({ index: entry.index, term: entry.term }, (txn) => {
      for (const single of change.changes) {
        if (single.type === 'removeVoter') {
          cluster.members.delete(single.nodeId);
          cluster.removed.add(single.nodeId);
        } else {
          const existing = cluster.members.get(single.nodeId);
          const base = existing ?? (attributes !== undefined && attributes.id === single.nodeId ? attributes : { id: single.nodeId, name: '', peerUrls: [], clientUrls: [], isLearner: false });
          cluster.members.set(single.nodeId, { ...base, isLearner: single.type === 'addLearner' });
        }
      }
      this.writeCluster(txn);
    });
    // Raft's configuration is rebuilt from the snapshot plus replayed entries on every start.
    this.confState = this.target.applyConfChange(change);
    if (result.kind !== 'already-applied' && context !== undefined) {
      this.target.deliver(context.id, result.kind === 'ok' ? { ok: true, value: cluster.memberList() } : { ok: false, error: result.error });
    }
    if (change.changes.some((c) => c.type === 'removeVoter' && c.nodeId === this.target.memberId)) this.target.onRemoved();
  }

  private writeCluster(txn: ApplyTxn): void {
    txn.writeAux({ bucket: 'meta', key: CLUSTER_STATE_KEY, value: this.target.cluster.encode() });
  }
}

/** Whether a put/delete/txn request may write (a read-only txn may run under NOSPACE). */
function writes(request: RaftRequest['request']): boolean {
  if (request.case !== 'txn') return true;
  const ops = [...request.value.success, ...request.value.failure];
  return ops.some((op) => op.request.case !== 'requestRange');
}

/** Encodes the envelope of a proposal. */
export function encodeRaftRequest(id: bigint, request: RaftRequest['request'], proposer: ProposerStamp): Uint8Array {
  return toBinary(RaftRequestSchema, create(RaftRequestSchema, { id, request, ...proposer }));
}
