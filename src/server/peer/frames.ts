/**
 * The raft stream's wire format between Conclave members: after a fixed preamble, a sequence
 * of frames, each a 4-byte big-endian payload length followed by the payload (a protobuf
 * MessageBatch from the dialing member, a BatchAck back from the accepting one). Members talk
 * only to members, so this needs no HTTP/2 or gRPC framing: a batch costs one socket write and
 * one read, where a gRPC stream message cost a dozen JS layers and several HTTP/2 frames.
 */

/** Opens every raft stream connection; the peer port tells it from an HTTP/2 (gRPC) preface by its first byte. */
export const RAFT_STREAM_PREAMBLE = Buffer.from('CONCLAVE-RAFT/1\n', 'latin1');
/** The ALPN protocol id a raft stream offers on https peer URLs. */
export const RAFT_STREAM_ALPN = 'conclave-raft/1';

const LENGTH_BYTES = 4;

/** A frame longer than the reader's limit, or a preamble that is not ours: the connection is dropped. */
export class RaftStreamFrameError extends Error {
  override name = 'RaftStreamFrameError';
}

/** One frame around `payload`, header and payload in one buffer (one write). */
export function encodeFrame(payload: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(LENGTH_BYTES + payload.byteLength);
  frame.writeUInt32BE(payload.byteLength, 0);
  frame.set(payload, LENGTH_BYTES);
  return frame;
}

/**
 * Cuts a byte stream into frame payloads. A frame announcing more than `maxFrameBytes` throws
 * before anything is allocated for it, so a hostile length costs nothing; the bytes of a frame
 * in progress are held as the chunks received until the frame is complete.
 */
export class FrameReader {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Bytes needed before the held chunks are worth joining (the frame in progress, header included). */
  private neededBytes = LENGTH_BYTES;
  private preambleLeft: number;

  constructor(
    private readonly maxFrameBytes: number,
    /** The acceptor side first checks the preamble; the dialer's reader starts at the first frame. */
    expectPreamble: boolean,
  ) {
    this.preambleLeft = expectPreamble ? RAFT_STREAM_PREAMBLE.length : 0;
  }

  /** Feeds one chunk; returns the payloads it completed, in order. Throws RaftStreamFrameError on a bad stream. */
  push(chunk: Buffer): Buffer[] {
    if (this.preambleLeft > 0) chunk = this.checkPreamble(chunk);
    if (this.pendingBytes > 0) {
      this.pending.push(chunk);
      this.pendingBytes += chunk.length;
      // A large frame (a snapshot) arrives in many chunks: join them once, when it is complete.
      if (this.pendingBytes < this.neededBytes) return [];
      chunk = Buffer.concat(this.pending, this.pendingBytes);
      this.pending = [];
      this.pendingBytes = 0;
    }
    const payloads: Buffer[] = [];
    let at = 0;
    this.neededBytes = LENGTH_BYTES;
    while (chunk.length - at >= LENGTH_BYTES) {
      const length = chunk.readUInt32BE(at);
      if (length > this.maxFrameBytes) throw new RaftStreamFrameError(`raft stream frame of ${length} bytes exceeds the limit of ${this.maxFrameBytes}`);
      if (chunk.length - at - LENGTH_BYTES < length) {
        this.neededBytes = LENGTH_BYTES + length;
        break;
      }
      payloads.push(chunk.subarray(at + LENGTH_BYTES, at + LENGTH_BYTES + length));
      at += LENGTH_BYTES + length;
    }
    if (at < chunk.length) {
      this.pending.push(chunk.subarray(at));
      this.pendingBytes = chunk.length - at;
    }
    return payloads;
  }

  /** Bytes of an incomplete frame held. */
  get bufferedBytes(): number {
    return this.pendingBytes;
  }

  private checkPreamble(chunk: Buffer): Buffer {
    const offset = RAFT_STREAM_PREAMBLE.length - this.preambleLeft;
    const n = Math.min(this.preambleLeft, chunk.length);
    if (!chunk.subarray(0, n).equals(RAFT_STREAM_PREAMBLE.subarray(offset, offset + n))) throw new RaftStreamFrameError('not a raft stream (bad preamble)');
    this.preambleLeft -= n;
    return chunk.subarray(n);
  }
}
