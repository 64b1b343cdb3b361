import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { ClusterStateSchema, MemberAttributesSchema } from '../gen/conclave/internal_pb.js';
import type { MemberAttributes } from '../gen/conclave/internal_pb.js';
import type { AlarmInfo, MemberInfo } from './api/ports.js';

/** Key of the cluster state in the backend's meta bucket. */
export const CLUSTER_STATE_KEY = 'cluster';

/**
 * The replicated facts about the cluster beside the key space: its id, its members (with
 * URLs, names and learner flags), the ids of removed members (never to be re-admitted), and
 * active alarms. Changed only by applying raft entries, stored in the backend's meta bucket
 * in the same atomic write as the entry's applied index, so it travels in snapshots too.
 */
export class ClusterState {
  clusterId: bigint;
  readonly members = new Map<bigint, MemberInfo>();
  readonly removed = new Set<bigint>();
  alarms: AlarmInfo[] = [];

  constructor(clusterId: bigint) {
    this.clusterId = clusterId;
  }

  static decode(bytes: Uint8Array): ClusterState {
    const message = fromBinary(ClusterStateSchema, bytes);
    const state = new ClusterState(message.clusterId);
    for (const m of message.members) state.members.set(m.id, memberFromPb(m));
    for (const id of message.removedMemberIds) state.removed.add(id);
    state.alarms = message.alarms.map((a) => ({ memberId: a.memberID, alarm: a.alarm }));
    return state;
  }

  encode(): Uint8Array {
    return toBinary(ClusterStateSchema, create(ClusterStateSchema, {
      clusterId: this.clusterId,
      members: [...this.members.values()].map(memberToPb),
      removedMemberIds: [...this.removed],
      alarms: this.alarms.map((a) => ({ memberID: a.memberId, alarm: a.alarm })),
    }));
  }

  memberList(): MemberInfo[] {
    return [...this.members.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }
}

export function memberFromPb(m: MemberAttributes): MemberInfo {
  return { id: m.id, name: m.name, peerUrls: [...m.peerUrls], clientUrls: [...m.clientUrls], isLearner: m.isLearner };
}

export function memberToPb(m: MemberInfo): MemberAttributes {
  return create(MemberAttributesSchema, { id: m.id, name: m.name, peerUrls: [...m.peerUrls], clientUrls: [...m.clientUrls], isLearner: m.isLearner });
}
