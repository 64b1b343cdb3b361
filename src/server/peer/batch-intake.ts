import { create } from '@bufbuild/protobuf';
import type { Logger } from '../../base/logger.js';
import type { Message } from '../../raft/index.js';
import type { BatchAck, MessageBatch } from '../../gen/conclave/peer_pb.js';
import { BatchAckSchema } from '../../gen/conclave/peer_pb.js';
import type { PeerEvents } from '../transport.js';
import { decodeMessage } from './codec.js';

/** What the accepting side checks a batch against (declared by the transport's handlers). */
export interface IntakeChecks {
  readonly memberId: bigint;
  clusterId(): bigint;
  isRemoved(id: bigint): boolean;
  /** The test-only filter's verdict for traffic from `from` to `to`. */
  passes(from: bigint, to: bigint): boolean;
}

/** The ack of an accepted batch (one shared object: the raft stream sends its encoding, made once). */
export const ACCEPTED: BatchAck = create(BatchAckSchema, {});

/**
 * Takes one received MessageBatch, whichever stream carried it (the raft stream or the gRPC
 * Stream method): refuses a batch from another cluster or from a removed member, hands the
 * messages addressed to this member to raft, and says what to acknowledge.
 */
export function takeBatch(batch: MessageBatch, checks: IntakeChecks, events: PeerEvents, logger: Logger): BatchAck {
  if (batch.clusterId !== checks.clusterId()) return create(BatchAckSchema, { refused: 'cluster-mismatch' });
  if (checks.isRemoved(batch.from)) return create(BatchAckSchema, { refused: 'removed' });
  try {
    const messages: Message[] = [];
    for (const pb of batch.messages) {
      const m = decodeMessage(pb);
      if (m.to === checks.memberId && checks.passes(m.from, m.to)) messages.push(m);
    }
    if (messages.length > 0) events.receive(messages);
    return ACCEPTED;
  } catch (error) {
    logger.warn('dropping a malformed peer batch', { from: batch.from.toString(16), error: (error as Error).message });
    return create(BatchAckSchema, { refused: 'malformed' });
  }
}
