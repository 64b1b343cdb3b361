/**
 * Small helpers for the paper tests: a node made from a RawNode over MemoryStorage, and a
 * synchronous network that delivers every message until none is left (with optional drops),
 * persisting each node's Ready as the caller must. Tests read the Raft state directly.
 */
import { SeededRandom } from '../../../src/base/random.js';
import type { Entry, Message, MessageType, NodeId, RaftConfig } from '../../../src/raft/index.js';
import { MemoryStorage, RawNode, bootstrapState, message } from '../../../src/raft/index.js';
import type { Raft } from '../../../src/raft/raft.js';

export type TestOptions = Partial<Omit<RaftConfig, 'id' | 'storage' | 'random'>>;

export function newNode(id: NodeId, voters: NodeId[], options: TestOptions = {}, learners: NodeId[] = []): RawNode {
  const { snapshot, hardState } = bootstrapState(voters, learners);
  const storage = new MemoryStorage(snapshot);
  storage.setHardState(hardState);
  return new RawNode({ preVote: false, checkQuorum: false, ...options, id, storage, random: new SeededRandom(Number(id)) });
}

export function storageOf(node: RawNode): MemoryStorage {
  return node.raft.raftLog.storage as MemoryStorage;
}

/** Takes the messages a node has queued (without producing a Ready). */
export function takeMessages(r: Raft): Message[] {
  const msgs = r.msgs;
  r.msgs = [];
  return msgs;
}

export function entry(index: number, term: number, data = ''): Entry {
  return { index, term, type: 'normal', data: new TextEncoder().encode(data) };
}

export function msg(fields: Partial<Message> & Pick<Message, 'type'>): Message {
  return message(fields);
}

export class Network {
  readonly nodes = new Map<NodeId, RawNode>();
  private readonly dropped = new Set<string>();
  private readonly ignoredTypes = new Set<MessageType>();
  delivered: Message[] = [];

  constructor(ids: NodeId[], options: TestOptions = {}) {
    for (const id of ids) this.nodes.set(id, newNode(id, ids, options));
  }

  node(id: NodeId): RawNode {
    return this.nodes.get(id)!;
  }

  raft(id: NodeId): Raft {
    return this.node(id).raft;
  }

  /** Cuts the link between a and b in both directions. */
  cut(a: NodeId, b: NodeId): void {
    this.dropped.add(`${a}>${b}`);
    this.dropped.add(`${b}>${a}`);
  }

  isolate(id: NodeId): void {
    for (const other of this.nodes.keys()) if (other !== id) this.cut(id, other);
  }

  ignore(type: MessageType): void {
    this.ignoredTypes.add(type);
  }

  recover(): void {
    this.dropped.clear();
    this.ignoredTypes.clear();
  }

  /** Persists every node's Ready and delivers messages until the network is quiet. */
  stabilize(): void {
    for (let round = 0; round < 10_000; round++) {
      const queue: Message[] = [];
      for (const node of this.nodes.values()) {
        if (!node.hasReady()) continue;
        const ready = node.ready();
        const storage = storageOf(node);
        if (ready.hardState !== undefined) storage.setHardState(ready.hardState);
        if (ready.snapshot !== undefined) storage.applySnapshot(ready.snapshot);
        storage.append(ready.entries);
        for (const e of ready.committedEntries) if (e.type === 'confChange') node.applyConfChange(node.raft.decodeConfChange(e));
        queue.push(...ready.messages);
        node.advance();
      }
      if (queue.length === 0) return;
      for (const m of queue) {
        if (this.dropped.has(`${m.from}>${m.to}`) || this.ignoredTypes.has(m.type)) continue;
        const target = this.nodes.get(m.to);
        if (target === undefined) continue;
        this.delivered.push(m);
        target.step(m);
      }
    }
    throw new Error('network did not stabilize');
  }

  /** Starts an election at `id` and lets it run to completion. */
  campaign(id: NodeId): void {
    this.node(id).campaign();
    this.stabilize();
  }

  propose(id: NodeId, data: string): void {
    this.node(id).propose(new TextEncoder().encode(data));
    this.stabilize();
  }
}
