import { join } from 'node:path';
import { fromBinary, toBinary } from '@bufbuild/protobuf';
import { ClusterStateSchema } from '../gen/conclave/internal_pb.js';
import { mkdir } from 'node:fs/promises';
import { deferred } from '../base/deferred.js';
import { ConclaveError } from '../base/errors.js';
import { SeededRandom } from '../base/random.js';
import type { ConfChange, NodeId, ReadState, Snapshot, SoftState } from '../raft/index.js';
import { ProposalDroppedError, RawNode, bootstrapState } from '../raft/index.js';
import { LeaseNotFoundError, MvccStore, WatchableStore } from '../mvcc/index.js';
import type { Backend } from '../storage/backend/index.js';
import { LmdbBackend, MemoryBackend, restoreSnapshot, writeSnapshot } from '../storage/backend/index.js';
import { DiskStorage, NodeFileSystem } from '../storage/index.js';
import { Lessor } from './lessor/index.js';
import type { TimeToLive } from './lessor/index.js';
import type { AlarmInfo, MemberInfo, MemberStatusInfo, ProposalRequest, ServerPort } from './api/ports.js';
import type { AppliedOutcome } from './applier.js';
import { Applier, encodeRaftRequest } from './applier.js';
import { CLUSTER_STATE_KEY, ClusterState, memberToPb } from './cluster-state.js';
import { ServerError, serverError } from './errors.js';
import { IdGenerator, computeClusterId, computeMemberId } from './ids.js';
import type { MemberOptions, ResolvedMemberOptions } from './member-options.js';
import { parseInitialCluster, resolveMemberOptions } from './member-options.js';
import { RaftDriver } from './raft-driver.js';
import { ReadIndexBatcher } from './read-index.js';
import type { PeerEvents, PeerTransport } from './transport.js';
import { noPeers } from './transport.js';
import { WaitRegistry } from './wait.js';
import { MembershipChanges } from './membership.js';
import { AutoCompactor } from './auto-compactor.js';
import { QuotaWatcher } from './quota.js';
import { AlarmRequest_AlarmAction, AlarmType } from '../gen/etcdserverpb/rpc_pb.js';
import { GrpcPeerTransport } from './peer/grpc-peer-transport.js';
import type { AuthGate } from './auth/gate.js';
import { openAuth, reloadAuth } from './auth/open.js';

/** Most proposals waiting to be applied on one member at once. */
const MAX_PENDING_PROPOSALS = 10_000;
/** etcd refuses new requests when committed entries wait this far behind the applied index. */
const MAX_APPLY_GAP = 5_000;
/** Most linearizable reads waiting at once. */
const MAX_PENDING_READS = 100_000;

export type TransportFactory = (member: Member, events: PeerEvents) => PeerTransport;

/**
 * One Conclave member: raft over the WAL and snapshots, the MVCC key space on a backend
 * engine, the lessor, the watchable store, and the cluster state, composed and driven by the
 * ready loop. It implements ServerPort, what the gRPC services need.
 */
export class Member implements ServerPort {
  readonly options: ResolvedMemberOptions;
  memberId!: bigint;
  cluster!: ClusterState;
  store!: MvccStore;
  watchable!: WatchableStore;
  lessor!: Lessor;
  auth!: AuthGate;
  private backend!: Backend;
  private storage!: DiskStorage;
  private rawNode!: RawNode;
  private driver!: RaftDriver;
  private applier!: Applier;
  private transport: PeerTransport = noPeers;
  private idGenerator!: IdGenerator;
  private readIndex!: ReadIndexBatcher;
  private readonly waits = new WaitRegistry<AppliedOutcome>(MAX_PENDING_PROPOSALS);
  private readonly leaderWaiters = new Set<() => void>();
  private snapshotIndex = 0;
  private stopped = false;
  private readonly done = deferred<void>();
  private cancelLessorTick: (() => void) | undefined;
  private membership!: MembershipChanges;
  private autoCompactor: AutoCompactor | undefined;
  private quota: QuotaWatcher | undefined;
  /** Set when the member stopped because of an error (a failed fsync, a broken invariant). */
  fatalError: unknown;

  private constructor(options: ResolvedMemberOptions) {
    this.options = options;
  }

  /** Opens (or creates) the member's data and starts it. */
  static async start(options: MemberOptions, transportFactory?: TransportFactory): Promise<Member> {
    const member = new Member(resolveMemberOptions(options));
    await member.open(transportFactory);
    return member;
  }

  private get tickMs(): number {
    return this.options.heartbeatIntervalMs;
  }

  private get requestTimeoutMs(): number {
    // etcd: 5 s plus two election timeouts.
    return 5000 + 2 * this.options.electionTimeoutMs;
  }

  private async open(transportFactory: TransportFactory | undefined): Promise<void> {
    const { options } = this;
    const fileSystem = options.fileSystem ?? new NodeFileSystem();
    this.storage = await DiskStorage.open(fileSystem, join(options.dataDir, 'member'), {
      logger: options.logger,
      onFatal: (error) => this.fail(error),
      catchUpEntries: options.snapshotCatchUpEntries,
    });
    const initial = parseInitialCluster(options.initialCluster);
    const myPeerUrls = options.initialAdvertisePeerUrls;
    this.memberId = computeMemberId(myPeerUrls, options.initialClusterToken);
    let joined: ClusterState | undefined;
    if (this.storage.lastIndex() === 0 && this.storage.snapshot().metadata.index === 0) {
      if (options.initialClusterState === 'new') await this.bootstrap(initial);
      else joined = await this.discoverCluster(initial);
    }
    await this.openBackend();
    this.auth = await openAuth(this.backend, options);
    const clusterBytes = this.backend.get('meta', CLUSTER_STATE_KEY);
    this.cluster = clusterBytes !== undefined ? ClusterState.decode(clusterBytes) : joined ?? new ClusterState(0n);
    const me = [...this.cluster.members.values()].find((m) => m.peerUrls.some((url) => myPeerUrls.includes(url)));
    if (me !== undefined) this.memberId = me.id;
    this.idGenerator = new IdGenerator(this.memberId, Date.now());
    this.snapshotIndex = this.storage.snapshot().metadata.index;
    this.rawNode = new RawNode({
      id: this.memberId,
      storage: this.storage,
      random: new SeededRandom(Number(BigInt.asUintN(32, this.memberId ^ BigInt(Date.now())))),
      electionTicks: Math.round(options.electionTimeoutMs / options.heartbeatIntervalMs),
      heartbeatTicks: 1,
      // Raft re-delivers the entries after the snapshot: the store skips what it applied
      // already, and membership changes are re-applied to raft's configuration.
      applied: this.snapshotIndex,
      preVote: true,
      checkQuorum: true,
      maxUncommittedEntriesBytes: 64 * 1024 * 1024,
    });
    this.applier = this.newApplier();
    this.applier.appliedIndex = this.snapshotIndex;
    this.readIndex = new ReadIndexBatcher({
      requestReadIndex: (context) => {
        this.rawNode.readIndex(context);
        this.driver.kick();
      },
      appliedIndex: () => this.applier.appliedIndex,
      memberId: this.memberId,
    }, options.clock, this.requestTimeoutMs, MAX_PENDING_READS);
    this.membership = new MembershipChanges(this);
    const events: PeerEvents = {
      receive: (messages) => {
        for (const m of messages) this.rawNode.step(m);
        this.driver.kick();
      },
      unreachable: (id) => {
        this.rawNode.reportUnreachable(id);
        this.driver.kick();
      },
      snapshotStatus: (id, failed) => {
        this.rawNode.reportSnapshot(id, failed);
        this.driver.kick();
      },
      removed: () => this.onRemoved(),
    };
    this.transport = transportFactory?.(this, events) ?? noPeers;
    this.driver = new RaftDriver(this.rawNode, this.storage, this.transport, options.clock, this.tickMs, {
      restoreSnapshot: (snapshot) => this.restoreSnapshot(snapshot),
      apply: (entry) => this.applier.apply(entry),
      softStateChanged: (state) => this.onSoftState(state),
      readStates: (states) => this.onReadStates(states),
      afterReady: () => this.afterReady(),
      fatal: (error) => this.fail(error),
    });
    this.updatePeers();
    this.driver.start();
    const tickLessor = (): void => {
      if (this.stopped) return;
      this.lessor.tick();
      this.cancelLessorTick = options.clock.setTimer(500, tickLessor);
    };
    this.cancelLessorTick = options.clock.setTimer(500, tickLessor);
    // A single-member cluster elects itself at once instead of waiting an election timeout.
    if (this.rawNode.status().confState.voters.length === 1 && this.rawNode.status().confState.voters[0] === this.memberId) {
      this.rawNode.campaign();
      this.driver.kick();
    }
    void this.publishAttributes();
    if (options.autoCompactionRetentionHours > 0) {
      this.autoCompactor = new AutoCompactor({
        isLeader: () => this.isLeader(),
        currentRevision: () => this.store.currentRevision,
        compact: async (revision) => {
          await this.propose({ case: 'compaction', value: { revision: BigInt(revision), physical: false } as never });
        },
      }, options.clock, options.autoCompactionRetentionHours * 3_600_000);
      this.autoCompactor.start();
    }
    this.quota = new QuotaWatcher({
      isLeader: () => this.isLeader(),
      backendBytes: () => this.backendBytes(),
      hasNoSpaceAlarm: () => this.cluster.alarms.some((a) => a.alarm === AlarmType.NOSPACE),
      raiseNoSpaceAlarm: async () => {
        this.options.logger.warn('backend exceeds its quota; raising the NOSPACE alarm', { quotaBytes: options.quotaBackendBytes });
        await this.propose({ case: 'alarm', value: { action: AlarmRequest_AlarmAction.ACTIVATE, memberID: this.memberId, alarm: AlarmType.NOSPACE } as never });
      },
    }, options.clock, options.quotaBackendBytes);
    this.quota.start();
    options.logger.info('member started', { name: options.name, id: this.memberId.toString(16), clusterId: this.cluster.clusterId.toString(16), engine: options.engine });
  }

  /**
   * Records this member's name and client URLs in the replicated member list (etcd's
   * "publish"), so MemberList shows every member's client URLs. Retried until it lands.
   */
  private async publishAttributes(): Promise<void> {
    const { name, advertiseClientUrls } = this.options;
    while (!this.stopped) {
      const me = this.cluster.members.get(this.memberId);
      if (me !== undefined && me.name === name && me.clientUrls.join(',') === advertiseClientUrls.join(',')) return;
      try {
        await this.propose({ case: 'memberUpdate', value: memberToPb({ id: this.memberId, name, peerUrls: me?.peerUrls ?? this.options.initialAdvertisePeerUrls, clientUrls: advertiseClientUrls, isLearner: me?.isLearner ?? false }) });
      } catch (error) {
        if (this.stopped) return;
        this.options.logger.debug('publishing member attributes failed; retrying', { error: (error as Error).message });
        await new Promise<void>((resolve) => this.options.clock.setTimer(this.options.electionTimeoutMs, resolve));
      }
    }
  }

  /** The first start of a member of a new cluster: the bootstrap snapshot holds the initial membership. */
  private async bootstrap(initial: Map<string, string[]>): Promise<void> {
    const members: MemberInfo[] = [...initial].map(([name, peerUrls]) => ({
      id: computeMemberId(peerUrls, this.options.initialClusterToken),
      name,
      peerUrls,
      // Identical on every initial member (their bootstrap states must match byte for byte);
      // each member publishes its client URLs through raft once it runs.
      clientUrls: [],
      isLearner: false,
    }));
    if (!members.some((m) => m.id === this.memberId)) {
      throw new ConclaveError('ERR_NOT_IN_INITIAL_CLUSTER', `this member's peer URLs (${this.options.initialAdvertisePeerUrls.join(',')}) are not in initialCluster (${this.options.initialCluster})`);
    }
    const cluster = new ClusterState(computeClusterId(members.map((m) => m.id)));
    for (const m of members) cluster.members.set(m.id, m);
    const backend = new MemoryBackend();
    backend.write([{ bucket: 'meta', key: CLUSTER_STATE_KEY, value: cluster.encode() }]);
    const { snapshot, hardState } = bootstrapState(members.map((m) => m.id));
    const data = concat([...writeSnapshot(backend)]);
    await this.storage.save({ snapshot: { ...snapshot, data }, hardState });
  }

  /**
   * A member joining an existing cluster (added with MemberAdd) asks the members named in
   * initialCluster for the cluster's id and member list; it finds its own id by its peer URLs.
   * Its log and state then arrive from the leader as a snapshot.
   */
  private async discoverCluster(initial: Map<string, string[]>): Promise<ClusterState> {
    const mine = new Set(this.options.initialAdvertisePeerUrls);
    const errors: string[] = [];
    for (const urls of initial.values()) {
      for (const url of urls) {
        if (mine.has(url)) continue;
        try {
          const info = await GrpcPeerTransport.callUrl<unknown>(url, 'clusterInfo', {}, 5000, this.options.peerTls);
          const state = ClusterState.decode(toBinary(ClusterStateSchema, info as never));
          const me = [...state.members.values()].find((m) => m.peerUrls.some((u) => mine.has(u)));
          if (me === undefined) throw new ConclaveError('ERR_NOT_ADDED', `the cluster at ${url} has no member with peer URLs ${[...mine].join(',')}: add it with MemberAdd first`);
          this.memberId = me.id;
          return state;
        } catch (error) {
          if (ConclaveError.is(error) && error.code === 'ERR_NOT_ADDED') throw error;
          errors.push(`${url}: ${(error as Error).message}`);
        }
      }
    }
    throw new ConclaveError('ERR_JOIN_FAILED', `could not reach any member of the cluster to join: ${errors.join('; ')}`);
  }

  private async openBackend(): Promise<void> {
    const snapshot = this.storage.snapshot();
    if (this.options.engine === 'lmdb') {
      const path = join(this.options.dataDir, 'backend');
      await mkdir(path, { recursive: true });
      this.backend = new LmdbBackend({ path });
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
    return new Applier({
      store: this.store,
      lessor: this.lessor,
      cluster: this.cluster,
      memberId: this.memberId,
      auth: this.auth.store,
      applyConfChange: (change) => this.rawNode.applyConfChange(change),
      deliver: (id, outcome) => this.waits.trigger(id, outcome),
      onRemoved: () => this.onRemoved(),
    });
  }

  private newLessor(): Lessor {
    return new Lessor(this.store, {
      clock: this.options.clock,
      electionTimeoutMs: this.options.electionTimeoutMs,
      onExpired: (ids) => {
        for (const id of ids) void this.propose({ case: 'leaseRevoke', value: { ID: id } as never }).catch(() => undefined);
      },
      onCheckpoint: (checkpoints) => {
        const value = { checkpoints: checkpoints.map((c) => ({ ID: c.id, remainingTTL: BigInt(c.remainingTtlSeconds) })) };
        void this.propose({ case: 'leaseCheckpoint', value: value as never }).catch(() => undefined);
      },
    });
  }

  /** A follower received a snapshot: the backend, store, lessor and cluster state start over from it. */
  private restoreSnapshot(snapshot: Snapshot): void {
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
    this.updatePeers();
  }

  private async afterReady(): Promise<void> {
    this.readIndex.onApplied();
    this.updatePeers();
    const applied = this.applier.appliedIndex;
    if (applied - this.snapshotIndex >= this.options.snapshotCount) await this.snapshot(applied);
  }

  /** Makes a raft snapshot of the state at `index` (the applied index), then lets storage compact. */
  private async snapshot(index: number): Promise<void> {
    this.backend.flush();
    const data = concat([...writeSnapshot(this.backend)]);
    await this.storage.createSnapshot(index, this.rawNode.raft.tracker.confState(), data);
    this.snapshotIndex = index;
    this.options.logger.info('snapshot saved', { index, bytes: data.byteLength });
  }

  private onSoftState(state: SoftState): void {
    if (state.role === 'leader') this.lessor.promote(this.options.electionTimeoutMs);
    else if (this.lessor.isPrimary) this.lessor.demote();
    if (state.leader !== 0n) for (const wake of [...this.leaderWaiters]) wake();
  }

  private onReadStates(states: readonly ReadState[]): void {
    this.readIndex.onReadStates(states);
  }

  private updatePeers(): void {
    const peers = new Map<NodeId, readonly string[]>();
    for (const m of this.cluster.members.values()) if (m.id !== this.memberId) peers.set(m.id, m.peerUrls);
    this.transport.setPeers(peers);
  }

  private removalNoticed = false;

  private onRemoved(): void {
    if (this.removalNoticed) return;
    this.removalNoticed = true;
    this.options.logger.warn('this member was removed from the cluster; stopping once it no longer leads', { id: this.memberId.toString(16) });
    // A removed leader first hands leadership to a remaining voter (raft does it while it keeps
    // leading); give that up to ten election timeouts, then stop regardless.
    const deadline = this.options.clock.nowMs() + 10 * this.options.electionTimeoutMs;
    const check = (): void => {
      if (this.stopped) return;
      if (this.isLeader() && this.options.clock.nowMs() < deadline) {
        this.options.clock.setTimer(this.options.electionTimeoutMs, check);
        return;
      }
      void this.close();
    };
    this.options.clock.setTimer(2 * this.options.electionTimeoutMs, check);
  }

  private fail(error: unknown): void {
    if (this.fatalError !== undefined) return;
    this.fatalError = error;
    this.options.logger.error('member failed; stopping', { error: error instanceof Error ? error.message : String(error) });
    void this.destroy(error);
  }

  // ---- ServerPort ----

  clusterId(): bigint {
    return this.cluster.clusterId;
  }

  raftTerm(): number {
    return this.rawNode.raft.term;
  }

  leaderId(): bigint {
    return this.rawNode.raft.lead;
  }

  isLeader(): boolean {
    return this.rawNode.raft.role === 'leader';
  }

  /** Cheap per-request view for the gRPC guards (hasleader, learner restrictions). */
  role(): { leader: bigint; isLearner: boolean } {
    return { leader: this.rawNode.raft.lead, isLearner: this.rawNode.raft.isLearner };
  }

  async propose(request: ProposalRequest, signal?: AbortSignal): Promise<unknown> {
    const id = this.idGenerator.next();
    // Lease ids are chosen by the proposing member so every member grants the same id.
    if (request.case === 'leaseGrant' && request.value.ID === 0n) {
      request = { case: 'leaseGrant', value: { ...request.value, ID: this.idGenerator.nextLeaseId() } };
    }
    return this.proposeData(id, encodeRaftRequest(id, request, this.auth.proposer()), (data) => this.rawNode.propose(data), signal);
  }

  /** Proposes a membership change whose context carries `requestId`; resolves with the member list. */
  async proposeConfChange(requestId: bigint, change: ConfChange, signal?: AbortSignal): Promise<unknown> {
    return this.proposeData(requestId, change.context, () => this.rawNode.proposeConfChange(change), signal);
  }

  private async proposeData(id: bigint, data: Uint8Array, submit: (data: Uint8Array) => void, signal: AbortSignal | undefined): Promise<unknown> {
    if (this.stopped) throw serverError('stopped');
    if (signal?.aborted) throw signal.reason;
    if (data.byteLength > this.options.maxRequestBytes) throw serverError('requestTooLarge');
    if (this.rawNode.raft.raftLog.committed - this.applier.appliedIndex > MAX_APPLY_GAP) throw serverError('tooManyRequests');
    const outcome = this.waits.register(id);
    // The registry may reject it (close, timeout) before it is awaited below.
    outcome.catch(() => undefined);
    const deadline = this.options.clock.nowMs() + this.requestTimeoutMs;
    let cancelTimer: (() => void) | undefined;
    const onAbort = (): void => this.waits.cancel(id, signal!.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      // Without a leader, wait for one (up to the request timeout) rather than fail at once.
      for (;;) {
        try {
          submit(data);
          this.driver.kick();
          break;
        } catch (error) {
          if (!(error instanceof ProposalDroppedError)) throw error;
          if (this.options.clock.nowMs() >= deadline) throw serverError(this.rawNode.raft.lead === 0n ? 'noLeader' : 'timeout');
          await this.waitForLeader(deadline, signal);
        }
      }
      cancelTimer = this.options.clock.setTimer(Math.max(0, deadline - this.options.clock.nowMs()), () => this.waits.cancel(id, serverError('timeout')));
      const result = await outcome;
      if (!result.ok) throw result.error;
      return result.value;
    } catch (error) {
      this.waits.cancel(id, error);
      throw error;
    } finally {
      cancelTimer?.();
      signal?.removeEventListener('abort', onAbort);
    }
  }

  private waitForLeader(deadline: number, signal: AbortSignal | undefined): Promise<void> {
    return new Promise((resolve, reject) => {
      const finish = (): void => {
        this.leaderWaiters.delete(finish);
        cancel();
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = (): void => {
        this.leaderWaiters.delete(finish);
        cancel();
        reject(signal!.reason);
      };
      // Retry at least every tick: a proposal may also be refused during a leadership transfer.
      const cancel = this.options.clock.setTimer(Math.min(this.tickMs, Math.max(0, deadline - this.options.clock.nowMs())), finish);
      this.leaderWaiters.add(finish);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  linearizableReadBarrier(signal?: AbortSignal): Promise<void> {
    if (this.stopped) return Promise.reject(serverError('stopped'));
    return this.readIndex.wait(signal);
  }

  /** Lease expiry is tracked by the leader alone, so a follower forwards keep-alives to it. */
  async renewLease(id: bigint): Promise<number> {
    if (this.isLeader()) return this.renewOnLeader(id);
    const leader = await this.currentLeader();
    const response = await this.forward<{ TTL: bigint }>(leader, 'leaseRenew', { ID: id });
    if (response.TTL <= 0n) throw serverError('leaseNotFound');
    return Number(response.TTL);
  }

  async leaseTimeToLive(id: bigint, withKeys: boolean): Promise<TimeToLive> {
    if (this.isLeader()) return this.lessor.timeToLive(id, withKeys);
    const leader = await this.currentLeader();
    const response = await this.forward<{ ID: bigint; TTL: bigint; grantedTTL: bigint; keys: Uint8Array[] }>(leader, 'leaseTimeToLive', { ID: id, keys: withKeys });
    return { id: response.ID, ttlSeconds: Number(response.TTL), grantedTtlSeconds: Number(response.grantedTTL), keys: response.keys };
  }

  /**
   * Renews on the leader. A lease granted through a follower is answered once the follower
   * applied it, so its first keep-alive can reach the leader before the leader applied the
   * grant: "not found" while committed entries wait to be applied is retried once they are
   * (etcd's leader waits for its applied index in LeaseRenew the same way).
   */
  private async renewOnLeader(id: bigint): Promise<number> {
    try {
      return this.lessor.renew(id);
    } catch (error) {
      if (!(error instanceof LeaseNotFoundError) || this.applier.appliedIndex >= this.rawNode.raft.raftLog.committed) throw error;
      await this.readIndex.wait();
      return this.lessor.renew(id);
    }
  }

  /** The leader's id, waiting for an election to finish if there is none right now. */
  private async currentLeader(signal?: AbortSignal): Promise<bigint> {
    const deadline = this.options.clock.nowMs() + this.requestTimeoutMs;
    while (this.leaderId() === 0n) {
      if (this.options.clock.nowMs() >= deadline) throw serverError('noLeader');
      await this.waitForLeader(deadline, signal);
    }
    return this.leaderId();
  }

  private async forward<T>(leader: bigint, method: string, request: unknown): Promise<T> {
    if (this.transport.call === undefined) throw serverError('notLeader');
    try {
      return await this.transport.call<T>(leader, method, request, this.requestTimeoutMs);
    } catch (error) {
      const details = (error as { details?: string }).details;
      if (details === 'etcdserver: requested lease not found') throw serverError('leaseNotFound');
      throw serverError('leaderChanged', error);
    }
  }

  /** The peer RPCs this member answers for its peers (see proto/conclave/peer.proto). */
  peerHandlers(): Record<string, (request: never) => Promise<unknown>> {
    return {
      leaseRenew: async (request: { ID: bigint }) => {
        if (!this.isLeader()) throw serverError('notLeader');
        return { ID: request.ID, TTL: BigInt(await this.renewOnLeader(request.ID)) };
      },
      leaseTimeToLive: async (request: { ID: bigint; keys: boolean }) => {
        if (!this.isLeader()) throw serverError('notLeader');
        const ttl = this.lessor.timeToLive(request.ID, request.keys);
        return { ID: ttl.id, TTL: BigInt(ttl.ttlSeconds), grantedTTL: BigInt(ttl.grantedTtlSeconds), keys: ttl.keys };
      },
      memberPromote: async (request: { ID: bigint }) => {
        await this.membership.promote(request.ID);
        return { members: [] };
      },
      clusterInfo: async () => ClusterStateSchemaValue(this.cluster),
    };
  }

  members(): readonly MemberInfo[] {
    return this.cluster.memberList();
  }

  addMember(peerUrls: readonly string[], isLearner: boolean, signal?: AbortSignal): Promise<MemberInfo> {
    return this.membership.add(peerUrls, isLearner, signal);
  }

  removeMember(id: bigint, signal?: AbortSignal): Promise<void> {
    return this.membership.remove(id, signal);
  }

  updateMember(id: bigint, peerUrls: readonly string[], signal?: AbortSignal): Promise<void> {
    return this.membership.update(id, peerUrls, signal);
  }

  /** Promotion is checked against the leader's view of the learner's log: a follower forwards it. */
  async promoteMember(id: bigint, signal?: AbortSignal): Promise<void> {
    if (this.isLeader()) return this.membership.promote(id, signal);
    const leader = await this.currentLeader(signal);
    if (this.transport.call === undefined) throw serverError('notLeader');
    try {
      await this.transport.call(leader, 'memberPromote', { ID: id }, this.requestTimeoutMs);
    } catch (error) {
      const e = error as { code?: number; details?: string };
      if (e.details?.startsWith('etcdserver: ') === true) throw new ServerError('ERR_FORWARDED', e.code ?? 2, e.details);
      throw serverError('leaderChanged', error);
    }
  }

  alarms(): readonly AlarmInfo[] {
    return this.cluster.alarms;
  }

  status(): MemberStatusInfo {
    const status = this.rawNode.status();
    const size = this.backend.size();
    return {
      memberId: this.memberId,
      leader: status.softState.leader,
      raftIndex: status.hardState.commit,
      raftTerm: status.hardState.term,
      raftAppliedIndex: this.applier.appliedIndex,
      dbSizeBytes: size.totalBytes,
      dbSizeInUseBytes: size.inUseBytes,
      isLearner: this.rawNode.raft.isLearner,
      errors: this.fatalError === undefined ? [] : [String(this.fatalError)],
    };
  }

  /** Raft progress of every member, known on the leader only (for membership checks). */
  raftProgress(): ReadonlyMap<bigint, { match: number; recentActive: boolean; isLearner: boolean }> | undefined {
    return this.rawNode.status().progress;
  }

  raftLastIndex(): number {
    return this.rawNode.raft.raftLog.lastIndex();
  }

  nextRequestId(): bigint {
    return this.idGenerator.next();
  }

  /** Bytes the backend holds (etcd's dbSize). */
  backendBytes(): number {
    return this.backend.size().totalBytes;
  }

  async moveLeader(target: bigint, signal?: AbortSignal): Promise<void> {
    if (!this.isLeader()) throw serverError('notLeader');
    if (!this.cluster.members.has(target) || this.cluster.members.get(target)!.isLearner) throw serverError('badLeaderTransferee');
    if (target === this.memberId) return;
    this.rawNode.transferLeadership(target);
    this.driver.kick();
    const deadline = this.options.clock.nowMs() + this.requestTimeoutMs;
    while (this.rawNode.raft.lead !== target) {
      if (this.options.clock.nowMs() >= deadline) throw serverError('timeoutDueToLeaderFail');
      await this.waitForLeader(deadline, signal);
    }
  }

  async *backendSnapshot(): AsyncIterable<Uint8Array> {
    this.backend.flush();
    // Materialized first so that the stream is one consistent point in time.
    const chunks = [...writeSnapshot(this.backend)];
    for (const chunk of chunks) yield chunk;
  }

  async defragment(): Promise<void> {
    this.backend.flush();
  }

  /** Hands leadership to another voter (used on SIGTERM); resolves when done or after a timeout. */
  async transferLeadershipAway(): Promise<void> {
    if (!this.isLeader()) return;
    const voters = this.rawNode.raft.tracker.voterIds().filter((id) => id !== this.memberId);
    const progress = this.raftProgress();
    const best = voters.sort((a, b) => (progress?.get(b)?.match ?? 0) - (progress?.get(a)?.match ?? 0))[0];
    if (best === undefined) return;
    await this.moveLeader(best).catch(() => undefined);
  }

  /** Stops the member gracefully: no new requests, waiters rejected with "server stopped", storage closed. */
  async close(): Promise<void> {
    if (this.stopped) return this.done.promise;
    this.stopped = true;
    try {
      this.cancelLessorTick?.();
      this.autoCompactor?.stop();
      this.quota?.stop();
      await this.driver.stop();
      const stopped = serverError('stopped');
      this.waits.cancelAll(stopped);
      this.readIndex.close(stopped);
      this.watchable.close();
      await this.transport.close();
      this.backend.flush();
      this.backend.close();
      await this.storage.close();
      this.done.resolve();
    } catch (error) {
      this.done.reject(error);
    }
    return this.done.promise;
  }

  /** Stops at once (after a fatal error): rejects everything waiting, closes what it can. */
  async destroy(error?: unknown): Promise<void> {
    if (error !== undefined && this.fatalError === undefined) this.fatalError = error;
    return this.close();
  }

  /** Resolves when the member has stopped. */
  get stoppedPromise(): Promise<void> {
    return this.done.promise;
  }

  isStopped(): boolean {
    return this.stopped;
  }
}

function ClusterStateSchemaValue(cluster: ClusterState): unknown {
  return fromBinary(ClusterStateSchema, cluster.encode());
}

function concat(chunks: readonly Uint8Array[]): Uint8Array {
  const total = chunks.reduce((sum, c) => sum + c.byteLength, 0);
  const out = new Uint8Array(total);
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.byteLength;
  }
  return out;
}

export { ServerError };
