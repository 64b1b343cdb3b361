import { join } from 'node:path';
import { mkdir } from 'node:fs/promises';
import type { ConfChange, ConfState, Entry, Snapshot } from '../raft/index.js';
import { MvccStore, WatchableStore } from '../mvcc/index.js';
import type { Backend } from '../storage/backend/index.js';
import { LmdbBackend, MemoryBackend, restoreSnapshot, writeSnapshot } from '../storage/backend/index.js';
import type { DiskStorage } from '../storage/index.js';
import { Lessor } from './lessor/index.js';
import type { LeaseCheckpoint } from './lessor/index.js';
import type { AppliedOutcome } from './applier.js';
import { Applier } from './applier.js';
import { concatBytes } from './bootstrap.js';
import { CLUSTER_STATE_KEY, ClusterState } from './cluster-state.js';
import type { ResolvedMemberOptions } from './member-options.js';
import type { AuthGate } from './auth/gate.js';
import { openAuth, reloadAuth } from './auth/open.js';

/** What the state machine calls back into (declared by the consumer; the member wires it). */
export interface StateMachineHooks {
  applyConfChange(change: ConfChange): ConfState;
  deliver(requestId: bigint, outcome: AppliedOutcome): void;
  onRemoved(): void;
  /** The leader's lessor found expired leases: propose their revocation. */
  leasesExpired(ids: readonly bigint[]): void;
  leaseCheckpoints(checkpoints: readonly LeaseCheckpoint[]): void;
  /** How long one lmdb batch commit took (for etcd_disk_backend_commit_duration_seconds). */
  backendCommitSeconds(seconds: number): void;
}

/**
 * The replicated state of one member: the backend engine, the MVCC key space with its
 * watchable store, the lessor and the cluster state, the applier that moves them by committed
 * entries, and the snapshots made of them. Rebuilt in place from a leader's snapshot.
 */
export class MemberStateMachine {
  store!: MvccStore;
  watchable!: WatchableStore;
  lessor!: Lessor;
  cluster!: ClusterState;
  auth!: AuthGate;
  private backend!: Backend;
  private applier!: Applier;
  /** The index of the newest raft snapshot (made here or received). */
  snapshotIndex = 0;

  private constructor(
    private readonly options: ResolvedMemberOptions,
    private readonly hooks: StateMachineHooks,
    private memberIdValue: bigint,
  ) {}

  /**
   * Opens the backend and brings it up to at least the raft snapshot in `storage`. The cluster
   * state comes from the backend, else `joined` (a member joining from nothing), else empty.
   */
  static async open(options: ResolvedMemberOptions, storage: DiskStorage, joined: ClusterState | undefined, hooks: StateMachineHooks): Promise<MemberStateMachine> {
    const machine = new MemberStateMachine(options, hooks, 0n);
    await machine.openBackend(storage.snapshot());
    machine.auth = await openAuth(machine.backend, options);
    const clusterBytes = machine.backend.get('meta', CLUSTER_STATE_KEY);
    machine.cluster = clusterBytes !== undefined ? ClusterState.decode(clusterBytes) : joined ?? new ClusterState(0n);
    machine.snapshotIndex = storage.snapshot().metadata.index;
    return machine;
  }

  /** Binds the member id (known once the cluster state is read) and starts applying after the snapshot. */
  startApplying(memberId: bigint): void {
    this.memberIdValue = memberId;
    this.applier = this.newApplier();
    this.applier.appliedIndex = this.snapshotIndex;
  }

  get appliedIndex(): number {
    return this.applier.appliedIndex;
  }

  apply(entry: Entry): void {
    this.applier.apply(entry);
  }

  private async openBackend(snapshot: Snapshot): Promise<void> {
    if (this.options.engine === 'lmdb') {
      const path = join(this.options.dataDir, 'backend');
      await mkdir(path, { recursive: true });
      this.backend = new LmdbBackend({ path, onCommitSeconds: (seconds) => this.hooks.backendCommitSeconds(seconds) });
    } else {
      this.backend = new MemoryBackend();
    }
    this.store = MvccStore.open(this.backend, { maxTxnOps: this.options.maxTxnOps });
    // The backend must be at least as new as the raft snapshot (the memory engine always
    // starts empty; an lmdb backend may have lost unflushed writes in a crash).
    if (this.store.appliedPosition.index < snapshot.metadata.index && snapshot.data.byteLength > 0) {
      restoreSnapshot(this.backend, [snapshot.data]);
      this.store = MvccStore.open(this.backend, { maxTxnOps: this.options.maxTxnOps });
    }
    this.watchable = new WatchableStore(this.store);
    this.lessor = this.newLessor();
  }

  /** The applier over the current store, lessor and cluster state (rebuilt after a snapshot restore). */
  private newApplier(): Applier {
    const { hooks } = this;
    return new Applier({
      store: this.store,
      lessor: this.lessor,
      cluster: this.cluster,
      memberId: this.memberIdValue,
      auth: this.auth.store,
      applyConfChange: (change) => hooks.applyConfChange(change),
      deliver: (id, outcome) => hooks.deliver(id, outcome),
      onRemoved: () => hooks.onRemoved(),
    });
  }

  private newLessor(): Lessor {
    return new Lessor(this.store, {
      clock: this.options.clock,
      electionTimeoutMs: this.options.electionTimeoutMs,
      onExpired: (ids) => this.hooks.leasesExpired(ids),
      onCheckpoint: (checkpoints) => this.hooks.leaseCheckpoints(checkpoints),
    });
  }

  /** A follower received a snapshot: the backend, store, lessor and cluster state start over from it. */
  restoreSnapshot(snapshot: Snapshot): void {
    this.options.logger.info('restoring a snapshot from the leader', { index: snapshot.metadata.index, term: snapshot.metadata.term, bytes: snapshot.data.byteLength });
    restoreSnapshot(this.backend, [snapshot.data]);
    // The store rebuilds in place; its watchers resume from where they were, reading the new history.
    this.store.reload();
    this.lessor = this.newLessor();
    const clusterBytes = this.backend.get('meta', CLUSTER_STATE_KEY);
    const cluster = clusterBytes === undefined ? new ClusterState(this.cluster.clusterId) : ClusterState.decode(clusterBytes);
    this.cluster.clusterId = cluster.clusterId;
    this.cluster.members.clear();
    for (const [id, m] of cluster.members) this.cluster.members.set(id, m);
    this.cluster.removed.clear();
    for (const id of cluster.removed) this.cluster.removed.add(id);
    this.cluster.alarms = cluster.alarms;
    reloadAuth(this.auth, this.backend);
    this.applier = this.newApplier();
    this.applier.appliedIndex = snapshot.metadata.index;
    this.snapshotIndex = snapshot.metadata.index;
  }

  /** Makes a raft snapshot once `snapshotCount` entries were applied since the last one. */
  async maybeSnapshot(storage: DiskStorage, confState: () => ConfState): Promise<void> {
    const applied = this.applier.appliedIndex;
    if (applied - this.snapshotIndex < this.options.snapshotCount) return;
    this.backend.flush();
    const data = concatBytes([...writeSnapshot(this.backend)]);
    await storage.createSnapshot(applied, confState(), data);
    this.snapshotIndex = applied;
    this.options.logger.info('snapshot saved', { index: applied, bytes: data.byteLength });
  }

  /** Bytes the backend holds (etcd's dbSize). */
  backendSize(): { totalBytes: number; inUseBytes: number } {
    return this.backend.size();
  }

  backendStoredBytes(keyBytes: number, valueBytes: number): number {
    return this.backend.storedBytes(keyBytes, valueBytes);
  }

  async *backendSnapshot(): AsyncIterable<Uint8Array> {
    this.backend.flush();
    // Materialized first so that the stream is one consistent point in time.
    const chunks = [...writeSnapshot(this.backend)];
    for (const chunk of chunks) yield chunk;
  }

  /** Rewrites the backend compactly (see Backend.defragment). */
  defragment(): Promise<void> {
    return this.backend.defragment();
  }

  flush(): void {
    this.backend.flush();
  }

  /** Flushes and closes the backend (the member closes the watchers first). */
  close(): void {
    this.backend.flush();
    this.backend.close();
  }
}
