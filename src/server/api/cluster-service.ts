/**
 * The Cluster service: membership changes go through the port (which runs them through raft
 * and applies etcd's quorum and learner rules); this layer checks the peer URLs as etcd does
 * ("given member URLs are invalid") and lists members sorted by id, as etcd's cluster does.
 */
import { create } from '@bufbuild/protobuf';
import {
  Cluster, MemberAddResponseSchema, MemberListResponseSchema, MemberPromoteResponseSchema, MemberRemoveResponseSchema,
  MemberSchema, MemberUpdateResponseSchema,
} from '../../gen/etcdserverpb/rpc_pb.js';
import type * as pb from '../../gen/etcdserverpb/rpc_pb.js';
import { serverError } from '../errors.js';
import { clusterHeader } from './header.js';
import type { MemberInfo, ServerPort } from './ports.js';
import { bindService, type ServiceBinding } from './service-definition.js';
import { unary } from './unary.js';

/** etcd's URL rules for members: http(s) or unix(s), host with a port, nothing after the authority. */
export function validPeerUrl(text: string): boolean {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return false;
  }
  if (!['http:', 'https:', 'unix:', 'unixs:'].includes(url.protocol)) return false;
  if (url.protocol.startsWith('http') && url.port === '' && !/:\d+$/.test(url.host)) return false;
  return (url.pathname === '' || url.pathname === '/') && url.search === '' && url.hash === '' && !text.endsWith('/');
}

function checkUrls(urls: readonly string[]): void {
  if (!urls.every(validPeerUrl)) throw serverError('memberBadUrls');
}

export function memberToPb(member: MemberInfo): pb.Member {
  return create(MemberSchema, {
    ID: member.id,
    name: member.name,
    peerURLs: [...member.peerUrls],
    clientURLs: [...member.clientUrls],
    isLearner: member.isLearner,
  });
}

function memberList(port: ServerPort): pb.Member[] {
  return [...port.members()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)).map(memberToPb);
}

export function clusterService(port: ServerPort): ServiceBinding {
  return bindService(Cluster, {
    memberAdd: unary<pb.MemberAddRequest, pb.MemberAddResponse>(async (req, { signal }) => {
      checkUrls(req.peerURLs);
      const added = await port.addMember(req.peerURLs, req.isLearner, signal);
      return create(MemberAddResponseSchema, { header: clusterHeader(port), member: memberToPb(added), members: memberList(port) });
    }),
    memberRemove: unary<pb.MemberRemoveRequest, pb.MemberRemoveResponse>(async (req, { signal }) => {
      await port.removeMember(req.ID, signal);
      return create(MemberRemoveResponseSchema, { header: clusterHeader(port), members: memberList(port) });
    }),
    memberUpdate: unary<pb.MemberUpdateRequest, pb.MemberUpdateResponse>(async (req, { signal, caller }) => {
      checkUrls(req.peerURLs);
      await port.updateMember(req.ID, req.peerURLs, signal, caller);
      return create(MemberUpdateResponseSchema, { header: clusterHeader(port), members: memberList(port) });
    }),
    memberList: unary<pb.MemberListRequest, pb.MemberListResponse>(async (req, { signal }) => {
      // etcd 3.5: a linearizable list waits for the read barrier first.
      if (req.linearizable) await port.linearizableReadBarrier(signal);
      return create(MemberListResponseSchema, { header: clusterHeader(port), members: memberList(port) });
    }),
    memberPromote: unary<pb.MemberPromoteRequest, pb.MemberPromoteResponse>(async (req, { signal }) => {
      await port.promoteMember(req.ID, signal);
      return create(MemberPromoteResponseSchema, { header: clusterHeader(port), members: memberList(port) });
    }),
  });
}
