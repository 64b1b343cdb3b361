import type { Message, NodeId } from '../raft/index.js';

/**
 * How a member sends raft messages to its peers (the implementation batches per flush,
 * reconnects with back-off and bounds its queues; see peer/). Fire-and-forget: raft
 * tolerates loss, and the transport reports unreachable peers and failed snapshots back
 * through the PeerEvents it was given.
 */
export interface PeerTransport {
  send(messages: readonly Message[]): void;
  /** The peers to reach, by member id, with their peer URLs. */
  setPeers(peers: ReadonlyMap<NodeId, readonly string[]>): void;
  /** Calls a unary peer RPC on member `id` (forwarding lease keep-alives and promotions to the leader). */
  call?<T>(id: NodeId, method: string, request: unknown, timeoutMs: number): Promise<T>;
  /** Sends every peer an empty batch, so that a peer that refuses us as removed says so (see removal.ts). */
  probe?(): void;
  close(): Promise<void>;
}

/** What the transport reports back to the member. */
export interface PeerEvents {
  /** Messages received from a peer (already checked against the cluster id and removed members). */
  receive(messages: readonly Message[]): void;
  unreachable(id: NodeId): void;
  snapshotStatus(id: NodeId, failed: boolean): void;
  /** A peer refused us as a removed member: this member was removed and must stop. */
  removed(): void;
}

/** The transport of a single-member cluster: there is nobody to talk to. */
export const noPeers: PeerTransport = {
  send() {},
  setPeers() {},
  close: async () => {},
};
