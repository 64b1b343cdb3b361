import { assert } from '../base/assert.js';
import type { Message, NodeId } from './types.js';

/** A ReadIndex request waiting for a quorum of heartbeat acknowledgements. */
export interface PendingRead {
  /** The leader's commit index when the request arrived: the read index. */
  readonly index: number;
  /** The original request (from = the follower that forwarded it, or NONE when local). */
  readonly request: Message;
  readonly acks: Set<NodeId>;
}

function keyOf(context: Uint8Array): string {
  return Buffer.from(context.buffer, context.byteOffset, context.byteLength).toString('latin1');
}

/**
 * ReadIndex bookkeeping on the leader (dissertation section 6.4): each request records the
 * commit index, then the leader confirms it is still the leader by a round of heartbeats
 * carrying the request context; once a quorum acknowledged, every request up to that one can
 * be answered. Requests are answered in arrival order.
 *
 * The whole structure is discarded when the node's role or term changes, so a deposed leader
 * never answers a request it accepted while leading.
 */
export class ReadOnly {
  private readonly pending = new Map<string, PendingRead>();
  private readonly queue: string[] = [];

  get size(): number {
    return this.queue.length;
  }

  /** Records a request; a context already pending is ignored (contexts must be unique). */
  addRequest(index: number, request: Message): void {
    const key = keyOf(request.context);
    if (this.pending.has(key)) return;
    this.pending.set(key, { index, request, acks: new Set() });
    this.queue.push(key);
  }

  /** Records an acknowledgement of `context` from `id`; returns the acks so far, or undefined if unknown. */
  recvAck(id: NodeId, context: Uint8Array): ReadonlySet<NodeId> | undefined {
    const read = this.pending.get(keyOf(context));
    if (read === undefined) return undefined;
    read.acks.add(id);
    return read.acks;
  }

  /**
   * Removes and returns every request up to and including the one with `context`: a quorum
   * acknowledging a later heartbeat also confirms leadership for every earlier request.
   */
  advance(context: Uint8Array): PendingRead[] {
    const key = keyOf(context);
    const position = this.queue.indexOf(key);
    if (position < 0) return [];
    const keys = this.queue.splice(0, position + 1);
    return keys.map((k) => {
      const read = this.pending.get(k);
      assert(read !== undefined, 'read-only queue and map disagree');
      this.pending.delete(k);
      return read;
    });
  }

  /** The context of the newest pending request, sent with heartbeats so acks confirm it. */
  lastPendingContext(): Uint8Array | undefined {
    const key = this.queue[this.queue.length - 1];
    return key === undefined ? undefined : this.pending.get(key)!.request.context;
  }
}
