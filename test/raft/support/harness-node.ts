/**
 * One Raft node as the tests drive it: a RawNode over a MemoryStorage that plays the part of
 * stable storage, and a tiny state machine. handleReady() performs the caller's duties of a
 * Ready in the documented order (persist, then hand out messages, then apply, then advance).
 * The state machine is a hash chain over applied normal entries, so two nodes that applied the
 * same entries in the same order have the same hash; snapshots carry (index, hash, confState).
 */
import { SeededRandom } from '../../../src/base/random.js';
import type { RaftConfig, Ready } from '../../../src/raft/index.js';
import { MemoryStorage, RawNode, bootstrapState, decodeConfChange } from '../../../src/raft/index.js';
import type { ConfState, Entry, Message, NodeId, Snapshot } from '../../../src/raft/index.js';
import { EMPTY_CONF_STATE } from '../../../src/raft/types.js';

export interface AppliedEntry {
  readonly index: number;
  readonly term: number;
  readonly data: Uint8Array;
  readonly digest: number;
}

export type NodeOptions = Omit<RaftConfig, 'id' | 'storage' | 'random'>;

/** FNV-1a over the bytes, folded into the running hash. */
export function digestOf(previous: number, entry: Entry): number {
  let hash = (previous ^ 0x811c9dc5) >>> 0;
  const mix = (byte: number): void => {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  };
  for (const byte of entry.data) mix(byte);
  mix(entry.type === 'confChange' ? 1 : 0);
  mix(entry.term & 0xff);
  mix(entry.index & 0xff);
  return hash;
}

export function encodeSnapshotData(index: number, digest: number): Uint8Array {
  return new TextEncoder().encode(`${index}:${digest}`);
}

export function decodeSnapshotData(data: Uint8Array): { index: number; digest: number } {
  if (data.byteLength === 0) return { index: 0, digest: 0 };
  const [index, digest] = new TextDecoder().decode(data).split(':').map(Number);
  return { index: index!, digest: digest! };
}

export class HarnessNode {
  rawNode!: RawNode;
  /** The state machine: digest of everything applied, and the last applied index. */
  digest = 0;
  appliedIndex = 0;
  confState: ConfState = EMPTY_CONF_STATE;
  /** Configuration in force after each applied conf-change index (for making snapshots). */
  private readonly confStateAt = new Map<number, ConfState>();
  /** Applied entries since the last restart (bounded use in tests). */
  readonly appliedLog: AppliedEntry[] = [];
  /** Ids that were members in a configuration this node applied, and later were not (kept across restarts, as a server keeps its member list). */
  readonly removedIds = new Set<NodeId>();
  /** Ids that were ever members in a configuration this node applied or started with. */
  readonly everMembers = new Set<NodeId>();
  /** The newest log index whose configuration this node applied (replays after a restart go back behind it). */
  private newestConfigIndex = 0;

  constructor(
    readonly id: NodeId,
    readonly storage: MemoryStorage,
    private readonly options: NodeOptions,
    private readonly seed: number,
  ) {
    this.start();
  }

  static bootstrap(id: NodeId, voters: NodeId[], learners: NodeId[], options: NodeOptions, seed: number): HarnessNode {
    const { snapshot, hardState } = bootstrapState(voters, learners);
    const storage = new MemoryStorage(snapshot);
    storage.setHardState(hardState);
    return new HarnessNode(id, storage, options, seed);
  }

  /** A node that joins an existing cluster: empty storage, learns its configuration from the leader. */
  static joining(id: NodeId, options: NodeOptions, seed: number): HarnessNode {
    return new HarnessNode(id, new MemoryStorage(), options, seed);
  }

  /** (Re)starts from what storage holds, as after a crash: everything not persisted is gone. */
  start(): void {
    const snapshot = this.storage.snapshot();
    const restored = decodeSnapshotData(snapshot.data);
    this.digest = restored.digest;
    this.appliedIndex = snapshot.metadata.index;
    this.confState = snapshot.metadata.confState;
    // An older configuration than before the restart: the log replays the changes since, so
    // nothing here counts as a removal.
    for (const id of [...this.confState.voters, ...this.confState.votersOutgoing, ...this.confState.learners, ...this.confState.learnersNext]) this.everMembers.add(id);
    this.confStateAt.clear();
    this.confStateAt.set(snapshot.metadata.index, snapshot.metadata.confState);
    this.appliedLog.length = 0;
    this.rawNode = new RawNode({
      ...this.options,
      id: this.id,
      storage: this.storage,
      random: new SeededRandom(this.seed),
      applied: snapshot.metadata.index,
    });
  }

  /** Performs one Ready; returns it (for printing) with the messages to deliver. */
  handleReady(onApply?: (node: HarnessNode, entry: Entry) => void): Ready {
    const ready = this.rawNode.ready();
    this.persistReady(ready);
    this.finishReady(ready, onApply);
    return ready;
  }

  /** Step 1 of a Ready: what must be on stable storage before its messages are sent. */
  persistReady(ready: Ready): void {
    if (ready.hardState !== undefined) this.storage.setHardState(ready.hardState);
    if (ready.snapshot !== undefined) this.storage.applySnapshot(ready.snapshot);
    this.storage.append(ready.entries);
  }

  /** Step 3 and advance: restore a snapshot, apply committed entries (sending, step 2, is the caller's). */
  finishReady(ready: Ready, onApply?: (node: HarnessNode, entry: Entry) => void): void {
    if (ready.snapshot !== undefined) this.restoreSnapshot(ready.snapshot);
    for (const entry of ready.committedEntries) {
      this.apply(entry);
      onApply?.(this, entry);
    }
    this.rawNode.advance();
  }

  /** Whether `id` is a member (voter or learner, of either half) of `cs`. */
  static isMember(cs: ConfState, id: NodeId): boolean {
    return cs.voters.includes(id) || cs.votersOutgoing.includes(id) || cs.learners.includes(id) || cs.learnersNext.includes(id);
  }

  private noteMembers(cs: ConfState, index: number): void {
    // Only a configuration newer than any applied before can remove anyone.
    if (index <= this.newestConfigIndex) return;
    this.newestConfigIndex = index;
    for (const id of this.everMembers) if (!HarnessNode.isMember(cs, id)) this.removedIds.add(id);
    for (const id of [...cs.voters, ...cs.votersOutgoing, ...cs.learners, ...cs.learnersNext]) this.everMembers.add(id);
  }

  /** This node applied a configuration that removed it. */
  isSelfRemoved(): boolean {
    return this.removedIds.has(this.id);
  }

  private restoreSnapshot(snapshot: Snapshot): void {
    const data = decodeSnapshotData(snapshot.data);
    this.digest = data.digest;
    this.appliedIndex = snapshot.metadata.index;
    this.confState = snapshot.metadata.confState;
    this.noteMembers(this.confState, snapshot.metadata.index);
    this.confStateAt.set(snapshot.metadata.index, snapshot.metadata.confState);
  }

  private apply(entry: Entry): void {
    if (entry.index <= this.appliedIndex) throw new Error(`node ${this.id} applied ${entry.index} twice (applied ${this.appliedIndex})`);
    if (entry.index !== this.appliedIndex + 1) throw new Error(`node ${this.id} skipped from ${this.appliedIndex} to ${entry.index}`);
    this.digest = digestOf(this.digest, entry);
    this.appliedIndex = entry.index;
    this.appliedLog.push({ index: entry.index, term: entry.term, data: entry.data, digest: this.digest });
    if (entry.type === 'confChange') {
      this.confState = this.rawNode.applyConfChange(decodeConfChange(entry.data));
      this.noteMembers(this.confState, entry.index);
      this.confStateAt.set(entry.index, this.confState);
    }
  }

  /** Takes a snapshot at the applied index and compacts the log up to `keepEntries` before it. */
  snapshotAndCompact(keepEntries = 0): Snapshot | undefined {
    const index = this.appliedIndex;
    if (index <= this.storage.snapshot().metadata.index) return undefined;
    const snapshot = this.storage.createSnapshot(index, this.confState, encodeSnapshotData(index, this.digest));
    const compactIndex = index - keepEntries;
    if (compactIndex > this.storage.firstIndex()) this.storage.compact(compactIndex);
    return snapshot;
  }

  step(m: Message): void {
    this.rawNode.step(m);
  }
}
