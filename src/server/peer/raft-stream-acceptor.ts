import { fromBinary, toBinary } from '@bufbuild/protobuf';
import type { Socket } from 'node:net';
import type { Logger } from '../../base/logger.js';
import { MessageBatchSchema, BatchAckSchema } from '../../gen/conclave/peer_pb.js';
import type { MessageBatch } from '../../gen/conclave/peer_pb.js';
import type { PeerEvents } from '../transport.js';
import { ACCEPTED, takeBatch } from './batch-intake.js';
import type { IntakeChecks } from './batch-intake.js';
import { FrameReader, encodeFrame } from './frames.js';

/** The ack nearly every batch gets, encoded once. */
const ACCEPTED_FRAME = encodeFrame(toBinary(BatchAckSchema, ACCEPTED));

/**
 * Serves one raft stream connection a peer opened to this member: each frame is a
 * MessageBatch, answered in order by one BatchAck frame. Anything that is not a well-formed
 * stream (bad preamble, a frame over `maxFrameBytes`, bytes that are no MessageBatch) ends the
 * connection; the peer reconnects, and raft retransmits what was lost.
 */
export function acceptRaftStream(socket: Socket, checks: IntakeChecks, events: PeerEvents, logger: Logger, maxFrameBytes: number): void {
  const reader = new FrameReader(maxFrameBytes, true);
  socket.setNoDelay(true);
  socket.on('error', () => socket.destroy());
  socket.on('data', (chunk: Buffer) => {
    let payloads: Buffer[];
    try {
      payloads = reader.push(chunk);
    } catch (error) {
      logger.warn('closing a peer connection that is not a raft stream', { remote: `${socket.remoteAddress}:${socket.remotePort}`, error: (error as Error).message });
      socket.destroy();
      return;
    }
    if (payloads.length === 0) return;
    // One write for every ack this chunk produced.
    const acks: Buffer[] = [];
    for (const payload of payloads) {
      let batch: MessageBatch;
      try {
        batch = fromBinary(MessageBatchSchema, payload);
      } catch (error) {
        logger.warn('closing a peer connection that sent an undecodable batch', { remote: `${socket.remoteAddress}:${socket.remotePort}`, error: (error as Error).message });
        socket.destroy();
        return;
      }
      const ack = takeBatch(batch, checks, events, logger);
      acks.push(ack === ACCEPTED ? ACCEPTED_FRAME : encodeFrame(toBinary(BatchAckSchema, ack)));
    }
    socket.write(acks.length === 1 ? acks[0]! : Buffer.concat(acks));
  });
}
