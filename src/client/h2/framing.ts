/**
 * gRPC message framing over HTTP/2 DATA frames: each message is a 1-byte compressed flag, a
 * 4-byte big-endian length, then the bytes. We never compress (we send
 * `grpc-accept-encoding: identity`), so a compressed flag from the server is a protocol error.
 */

/** One request message with its 5-byte prefix, in a single buffer (one write per call). */
export function frameMessage(message: Uint8Array): Buffer {
  const framed = Buffer.allocUnsafe(5 + message.byteLength);
  framed[0] = 0;
  framed.writeUInt32BE(message.byteLength, 1);
  framed.set(message, 5);
  return framed;
}

/** Why a response body could not be read; `tooLarge` is reported as RESOURCE_EXHAUSTED. */
export class FramingError extends Error {
  constructor(message: string, readonly tooLarge: boolean) {
    super(message);
    this.name = 'FramingError';
  }
}

/**
 * Reassembles response messages from DATA chunks. Unary responses almost always arrive as one
 * chunk holding exactly one frame; that case returns a view of the chunk without copying.
 * The size limit is checked on the length prefix, before any body is buffered.
 */
export class MessageReader {
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  constructor(private readonly maxMessageBytes: number) {}

  /** The complete messages `chunk` finishes (usually none or one); throws FramingError. */
  push(chunk: Buffer): Buffer[] {
    if (this.pendingBytes === 0 && chunk.length >= 5) {
      const length = this.lengthOf(chunk);
      if (chunk.length === 5 + length) return [chunk.subarray(5)];
    }
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    const messages: Buffer[] = [];
    while (this.pendingBytes >= 5) {
      const head = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingBytes);
      const length = this.lengthOf(head);
      if (head.length < 5 + length) {
        this.pending = [head];
        break;
      }
      messages.push(head.subarray(5, 5 + length));
      const rest = head.subarray(5 + length);
      this.pending = rest.length === 0 ? [] : [rest];
      this.pendingBytes = rest.length;
    }
    return messages;
  }

  /** True while part of a frame is buffered (a body that ends here was cut short). */
  get partial(): boolean {
    return this.pendingBytes > 0;
  }

  private lengthOf(head: Buffer): number {
    if (head[0] !== 0) {
      throw new FramingError(head[0] === 1 ? 'Received compressed message but "grpc-encoding" header was identity' : `Invalid gRPC frame flag ${head[0]}`, false);
    }
    const length = head.readUInt32BE(1);
    // grpc-js's wording and code (RESOURCE_EXHAUSTED), so callers see one error either way.
    if (length > this.maxMessageBytes) throw new FramingError(`Received message larger than max (${length} vs ${this.maxMessageBytes})`, true);
    return length;
  }
}
