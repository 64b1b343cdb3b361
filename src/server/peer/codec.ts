import { create } from '@bufbuild/protobuf';
import type { ConfState, Entry, Message, MessageType, Snapshot } from '../../raft/index.js';
import { message } from '../../raft/index.js';
import type { Message as PbMessage, MessageBatch } from '../../gen/conclave/peer_pb.js';
import { EntryType, MessageBatchSchema } from '../../gen/conclave/peer_pb.js';

/** Raft messages <-> the peer protocol's protobuf messages (src/gen/conclave/peer_pb.ts). */

const MESSAGE_TYPES = new Set<MessageType>([
  'hup', 'beat', 'prop', 'app', 'appResp', 'vote', 'voteResp', 'preVote', 'preVoteResp', 'snap', 'heartbeat',
  'heartbeatResp', 'unreachable', 'snapStatus', 'checkQuorum', 'transferLeader', 'timeoutNow', 'readIndex', 'readIndexResp',
]);

/** Messages that only a node generates for itself: never accepted from the wire. */
const LOCAL_ONLY = new Set<MessageType>(['hup', 'beat', 'unreachable', 'snapStatus', 'checkQuorum']);

export class PeerMessageError extends Error {
  override name = 'PeerMessageError';
}

const num = (value: bigint, what: string): number => {
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new PeerMessageError(`${what} ${value} is out of range`);
  return Number(value);
};

function confStateToPb(cs: ConfState): object {
  return { voters: [...cs.voters], learners: [...cs.learners], votersOutgoing: [...cs.votersOutgoing], learnersNext: [...cs.learnersNext], autoLeave: cs.autoLeave };
}

function entryToPb(e: Entry): object {
  return { term: BigInt(e.term), index: BigInt(e.index), type: e.type === 'confChange' ? EntryType.ENTRY_CONF_CHANGE : EntryType.ENTRY_NORMAL, data: e.data };
}

function snapshotToPb(s: Snapshot): object {
  return { metadata: { index: BigInt(s.metadata.index), term: BigInt(s.metadata.term), confState: confStateToPb(s.metadata.confState) }, data: s.data };
}

export function encodeBatch(clusterId: bigint, from: bigint, messages: readonly Message[]): MessageBatch {
  return create(MessageBatchSchema, {
    clusterId,
    from,
    messages: messages.map((m) => ({
      type: m.type,
      to: m.to,
      from: m.from,
      term: BigInt(m.term),
      logTerm: BigInt(m.logTerm),
      index: BigInt(m.index),
      entries: m.entries.map(entryToPb),
      commit: BigInt(m.commit),
      ...(m.snapshot === undefined ? {} : { snapshot: snapshotToPb(m.snapshot) }),
      reject: m.reject,
      rejectHint: BigInt(m.rejectHint),
      context: m.context,
    })) as never,
  });
}

/** Decodes and validates a received message; throws PeerMessageError on anything malformed. */
export function decodeMessage(pb: PbMessage): Message {
  const type = pb.type as MessageType;
  if (!MESSAGE_TYPES.has(type) || LOCAL_ONLY.has(type)) throw new PeerMessageError(`unexpected message type ${JSON.stringify(pb.type)}`);
  const entries: Entry[] = pb.entries.map((e) => ({
    term: num(e.term, 'entry term'),
    index: num(e.index, 'entry index'),
    type: e.type === EntryType.ENTRY_CONF_CHANGE ? 'confChange' : 'normal',
    data: e.data,
  }));
  let snapshot: Snapshot | undefined;
  if (pb.snapshot !== undefined) {
    const md = pb.snapshot.metadata;
    if (md === undefined) throw new PeerMessageError('snapshot without metadata');
    const cs = md.confState;
    snapshot = {
      metadata: {
        index: num(md.index, 'snapshot index'),
        term: num(md.term, 'snapshot term'),
        confState: { voters: cs?.voters ?? [], learners: cs?.learners ?? [], votersOutgoing: cs?.votersOutgoing ?? [], learnersNext: cs?.learnersNext ?? [], autoLeave: cs?.autoLeave ?? false },
      },
      data: pb.snapshot.data,
    };
  }
  return message({
    type,
    to: pb.to,
    from: pb.from,
    term: num(pb.term, 'term'),
    logTerm: num(pb.logTerm, 'log term'),
    index: num(pb.index, 'index'),
    entries,
    commit: num(pb.commit, 'commit'),
    ...(snapshot === undefined ? {} : { snapshot }),
    reject: pb.reject,
    rejectHint: num(pb.rejectHint, 'reject hint'),
    context: pb.context,
  });
}
