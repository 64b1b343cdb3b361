import { join } from 'node:path';
import { deferred } from '../base/deferred.js';
import { SeededRandom } from '../base/random.js';
import type { ConfChange, NodeId, SoftState } from '../raft/index.js';
import { RawNode } from '../raft/index.js';
import type { MvccStore, WatchableStore } from '../mvcc/index.js';
import { DiskStorage, NodeFileSystem } from '../storage/index.js';
import type { Lessor, TimeToLive } from './lessor/index.js';
import type { AlarmInfo, MemberInfo, MemberStatusInfo, ProposalRequest, ServerPort } from './api/ports.js';
import { bootstrapNewCluster, discoverCluster } from './bootstrap.js';
import type { ClusterState } from './cluster-state.js';
import { ServerError, serverError } from './errors.js';
import { IdGenerator, computeMemberId } from './ids.js';
import { loadJoinedId, saveJoinedId } from './joined-identity.js';
import { LeaderCalls } from './leader-calls.js';
import type { MemberOptions, ResolvedMemberOptions } from './member-options.js';
import { parseInitialCluster, resolveMemberOptions } from './member-options.js';
import type { MemberService } from './member-services.js';
import { startMemberServices } from './member-services.js';
import { MembershipChanges } from './membership.js';
import { Proposer } from './proposals.js';
import { RaftDriver } from './raft-driver.js';
import { ReadIndexBatcher } from './read-index.js';
import { RemovalHandling } from './removal.js';
import { MemberStateMachine } from './state-machine.js';
import type { PeerEvents, PeerTransport } from './transport.js';
import { noPeers } from './transport.js';
import { BackendQuota } from './quota.js';
import { DataDirLock } from './data-dir-lock.js';
import type { MetricsSink, MetricsSource } from './metrics/sink.js';
import { noMetrics } from './metrics/sink.js';
import type { CallIdentity } from './auth/caller.js';
import type { AuthGate } from './auth/gate.js';
import { AlarmRequest_AlarmAction, AlarmType } from '../gen/etcdserverpb/rpc_pb.js';

/** Most linearizable reads waiting at once. */
const MAX_PENDING_READS = 100_000;

export type TransportFactory = (member: Member, events: PeerEvents) => PeerTransport;

/**
 * One Conclave member. This file only wires the parts together; each has one job:
 * - storage (src/storage): raft's log and hard state on the WAL and snapshot files;
 * - RawNode (src/raft) driven by the ready loop (raft-driver.ts);
 * - the replicated state (state-machine.ts): backend, MVCC store, watchers, lessor, cluster
 *   state, applier, snapshots;
 * - proposals (proposals.ts), linearizable reads (read-index.ts), leader-only calls
 *   (leader-calls.ts), membership changes (membership.ts), removal (removal.ts);
 * - background services (member-services.ts), the one place where services are built.
 * It implements ServerPort, what the gRPC services need.
 */
export class Member implements ServerPort {
  readonly options: ResolvedMemberOptions;
  memberId!: bigint;
  private state!: MemberStateMachine;
  private storage!: DiskStorage;
  private rawNode!: RawNode;
  private driver!: RaftDriver;
  private transport: PeerTransport = noPeers;
  private idGenerator!: IdGenerator;
  private readIndex!: ReadIndexBatcher;
  private proposer!: Proposer;
  private leaderCalls!: LeaderCalls;
  private membership!: MembershipChanges;
  private removal!: RemovalHandling;
  private services: MemberService[] = [];
  private quota!: BackendQuota;
  private dataDirLock: DataDirLock | undefined;
  /** Where the member's parts report metrics (start.ts passes the member's registry). */
  private metrics: MetricsSink = noMetrics;
  private appliedInReady = 0;
  private lastSeenLeader = 0n;
  private defragmenting: Promise<void> | undefined;
  private stopped = false;
  private readonly done = deferred<void>();
  /** Set when the member stopped because of an error (a failed fsync, a broken invariant). */
  fatalError: unknown;

  private constructor(options: ResolvedMemberOptions) {
    this.options = options;
  }

  /** Opens (or creates) the member's data and starts it. */
  static async start(options: MemberOptions, transportFactory?: TransportFactory, metrics: MetricsSink = noMetrics): Promise<Member> {
    const member = new Member(resolveMemberOptions(options));
    member.metrics = metrics;
    // The data directory is locked for the member's lifetime (a real file system only: the
    // simulated one is private to its process).
    if (member.options.fileSystem === undefined) member.dataDirLock = DataDirLock.acquire(member.options.dataDir, member.options.name);
    try {
      await member.open(transportFactory);
    } catch (error) {
      member.dataDirLock?.release();
      throw error;
    }
    return member;
  }

  get cluster(): ClusterState {
    return this.state.cluster;
  }

  get store(): MvccStore {
    return this.state.store;
  }

  get watchable(): WatchableStore {
    return this.state.watchable;
  }

  get lessor(): Lessor {
    return this.state.lessor;
  }

  /** Users, roles and tokens (ServerPort.auth): replicated with the rest of the state. */
  get auth(): AuthGate {
    return this.state.auth;
  }

  private get tickMs(): number {
    return this.options.heartbeatIntervalMs;
  }

  get requestTimeoutMs(): number {
    // etcd: 5 s plus two election timeouts.
    return 5000 + 2 * this.options.electionTimeoutMs;
  }

  private async open(transportFactory: TransportFactory | undefined): Promise<void> {
    const { options } = this;
    await this.openStorage();
    this.idGenerator = new IdGenerator(this.memberId, Date.now());
    this.rawNode = this.newRawNode();
    this.state.startApplying(this.memberId);
    this.buildParts();
    this.transport = transportFactory?.(this, this.peerEvents()) ?? noPeers;
    this.driver = new RaftDriver(this.rawNode, this.storage, this.transport, options.clock, this.tickMs, {
      restoreSnapshot: (snapshot) => {
        this.state.restoreSnapshot(snapshot);
        this.updatePeers();
      },
      apply: (entry) => {
        this.appliedInReady += 1;
        this.state.apply(entry);
      },
      softStateChanged: (softState) => this.onSoftState(softState),
      readStates: (states) => this.readIndex.onReadStates(states),
      afterReady: () => {
        if (this.appliedInReady > 0) this.metrics.readyBatchEntries(this.appliedInReady);
        this.appliedInReady = 0;
        return this.afterReady();
      },
      fatal: (error) => this.fail(error),
    });
    this.updatePeers();
    this.driver.start();
    // A member restarted after applying its own removal still waits to be refused.
    if (this.cluster.removed.has(this.memberId)) this.removal.appliedOwnRemoval();
    // A single-member cluster elects itself at once instead of waiting an election timeout.
    const { voters } = this.rawNode.status().confState;
    if (voters.length === 1 && voters[0] === this.memberId) {
      this.rawNode.campaign();
      this.driver.kick();
    }
    this.services = startMemberServices({
      memberId: this.memberId,
      options,
      cluster: this.cluster,
      lessor: () => this.lessor,
      isLeader: () => this.isLeader(),
      isStopped: () => this.stopped,
      currentRevision: () => this.store.currentRevision,
      propose: (request) => this.propose(request),
      learnerIds: () => [...this.cluster.members.values()].filter((m) => m.isLearner).map((m) => m.id),
      raftProgress: () => this.raftProgress(),
      raftLastIndex: () => this.raftLastIndex(),
      promote: (id) => this.membership.promote(id),
      flushBackend: () => this.state.flush(),
    });
    options.logger.info('member started', { name: options.name, id: this.memberId.toString(16), clusterId: this.cluster.clusterId.toString(16), engine: options.engine });
  }

  /** Opens the WAL and snapshots (bootstrapping or joining on a first start), then the replicated state. */
  private async openStorage(): Promise<void> {
    const { options } = this;
    const fileSystem = options.fileSystem ?? new NodeFileSystem();
    const memberDir = join(options.dataDir, 'member');
    this.storage = await DiskStorage.open(fileSystem, memberDir, {
      logger: options.logger,
      onFatal: (error) => this.fail(error),
      catchUpEntries: options.snapshotCatchUpEntries,
      onWalSyncSeconds: (seconds) => this.metrics.walFsyncSeconds(seconds),
    });
    const initial = parseInitialCluster(options.initialCluster);
    const myPeerUrls = options.initialAdvertisePeerUrls;
    this.memberId = computeMemberId(myPeerUrls, options.initialClusterToken);
    let joined: ClusterState | undefined;
    // A member that joined a running cluster cannot compute its id again (see joined-identity.ts).
    let joinedId = await loadJoinedId(fileSystem, memberDir);
    if (this.storage.lastIndex() === 0 && this.storage.snapshot().metadata.index === 0) {
      if (options.initialClusterState === 'new') {
        await bootstrapNewCluster(this.storage, options, this.memberId, initial);
      } else {
        const found = await discoverCluster(options, initial);
        joined = found.cluster;
        joinedId = found.memberId;
        await saveJoinedId(fileSystem, memberDir, joinedId);
      }
    }
    if (joinedId !== undefined) this.memberId = joinedId;
    this.state = await MemberStateMachine.open(options, this.storage, joined, {
      applyConfChange: (change) => this.rawNode.applyConfChange(change),
      deliver: (id, outcome) => this.proposer.deliver(id, outcome),
      onRemoved: () => this.removal.appliedOwnRemoval(),
      leasesExpired: (ids) => {
        for (const id of ids) void this.propose({ case: 'leaseRevoke', value: { ID: id } as never }).catch(() => undefined);
      },
      leaseCheckpoints: (checkpoints) => {
        const value = { checkpoints: checkpoints.map((c) => ({ ID: c.id, remainingTTL: BigInt(c.remainingTtlSeconds) })) };
        void this.propose({ case: 'leaseCheckpoint', value: value as never }).catch(() => undefined);
      },
      backendCommitSeconds: (seconds) => this.metrics.backendCommitSeconds(seconds),
    });
    // A bootstrap member is found by its peer URLs (an updated URL changed nothing in its id).
    const me = [...this.cluster.members.values()].find((m) => m.peerUrls.some((url) => myPeerUrls.includes(url)));
    if (me !== undefined && joinedId === undefined) this.memberId = me.id;
  }

  private newRawNode(): RawNode {
    const { options } = this;
    return new RawNode({
      id: this.memberId,
      storage: this.storage,
      random: new SeededRandom(Number(BigInt.asUintN(32, this.memberId ^ BigInt(Date.now())))),
      electionTicks: Math.round(options.electionTimeoutMs / options.heartbeatIntervalMs),
      heartbeatTicks: 1,
      // Raft re-delivers the entries after the snapshot: the store skips what it applied
      // already, and membership changes are re-applied to raft's configuration.
      applied: this.state.snapshotIndex,
      preVote: true,
      checkQuorum: true,
      // The ready loop applies committed entries while the next batch persists (raft-driver.ts).
      leaderAcksAfterPersist: true,
      maxUncommittedEntriesBytes: 64 * 1024 * 1024,
    });
  }

  /** The request paths: proposals, reads, leader-only calls, membership, removal. */
  private buildParts(): void {
    const { options } = this;
    // Before anything can propose (the services publish this member's attributes at once):
    // every proposal passes the quota check.
    this.quota = new BackendQuota({ backendBytes: () => this.backendBytes(), storedBytes: (k, v) => this.state.backendStoredBytes(k, v) }, options.quotaBackendBytes);
    const kick = (): void => this.driver.kick();
    this.proposer = new Proposer({
      rawNode: this.rawNode,
      clock: options.clock,
      ids: this.idGenerator,
      tickMs: this.tickMs,
      requestTimeoutMs: this.requestTimeoutMs,
      maxRequestBytes: options.maxRequestBytes,
      isStopped: () => this.stopped,
      appliedIndex: () => this.state.appliedIndex,
      kick,
      proposalFailed: () => this.metrics.proposalFailed(),
    });
    this.readIndex = new ReadIndexBatcher({
      requestReadIndex: (context) => {
        this.rawNode.readIndex(context);
        kick();
      },
      appliedIndex: () => this.state.appliedIndex,
      localReadIndex: () => {
        const raft = this.rawNode.raft;
        return raft.role === 'leader' && raft.tracker.isSingleton() && raft.tracker.isVoter(raft.id) ? raft.raftLog.committed : undefined;
      },
      memberId: this.memberId,
    }, options.clock, this.requestTimeoutMs, MAX_PENDING_READS);
    this.membership = new MembershipChanges(this);
    this.leaderCalls = new LeaderCalls({
      transport: () => this.transport,
      requestTimeoutMs: this.requestTimeoutMs,
      lessor: () => this.lessor,
      cluster: () => this.cluster,
      isLeader: () => this.isLeader(),
      caughtUp: () => this.state.appliedIndex >= this.rawNode.raft.raftLog.committed,
      readBarrier: () => this.readIndex.wait(),
      currentLeader: (signal) => this.proposer.currentLeader(signal),
      promoteOnLeader: (id, signal) => this.membership.promote(id, signal),
      addOnLeader: (peerUrls, isLearner, signal) => this.membership.add(peerUrls, isLearner, signal),
    });
    this.removal = new RemovalHandling({
      memberId: this.memberId,
      clock: options.clock,
      logger: options.logger,
      electionTimeoutMs: options.electionTimeoutMs,
      isLeader: () => this.isLeader(),
      isStopped: () => this.stopped,
      probePeers: () => this.transport.probe?.(),
      stop: () => void this.close(),
    });
  }

  private peerEvents(): PeerEvents {
    return {
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
      removed: () => this.removal.refusedAsRemoved(),
    };
  }

  private async afterReady(): Promise<void> {
    this.readIndex.onApplied();
    this.updatePeers();
    await this.state.maybeSnapshot(this.storage, () => this.rawNode.raft.tracker.confState());
  }

  private onSoftState(state: SoftState): void {
    if (state.leader !== 0n && state.leader !== this.lastSeenLeader) {
      this.lastSeenLeader = state.leader;
      this.metrics.leaderChanged();
    }
    if (state.role === 'leader') this.lessor.promote(this.options.electionTimeoutMs);
    else if (this.lessor.isPrimary) this.lessor.demote();
    if (state.leader !== 0n) this.proposer.leaderKnown();
  }

  private updatePeers(): void {
    const peers = new Map<NodeId, readonly string[]>();
    for (const m of this.cluster.members.values()) if (m.id !== this.memberId) peers.set(m.id, m.peerUrls);
    this.transport.setPeers(peers);
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

  /** Proposes `request` for `caller` (no caller: the member's own proposal, ServerPort.propose). */
  async propose(request: ProposalRequest, signal?: AbortSignal, caller?: CallIdentity): Promise<unknown> {
    if (!this.quota.allows(request)) await this.refuseOverQuota(signal);
    return this.proposer.propose(request, signal, caller);
  }

  /** etcd's quota answer: raise the NOSPACE alarm (once; it is replicated) and refuse the request. */
  private async refuseOverQuota(signal: AbortSignal | undefined): Promise<never> {
    if (!this.cluster.alarms.some((a) => a.alarm === AlarmType.NOSPACE && a.memberId === this.memberId)) {
      this.options.logger.warn('backend quota exceeded; raising the NOSPACE alarm', { quotaBytes: this.options.quotaBackendBytes, backendBytes: this.backendBytes() });
      // As in etcd, the request is refused whether or not the alarm could be raised now.
      await this.propose({ case: 'alarm', value: { action: AlarmRequest_AlarmAction.ACTIVATE, memberID: this.memberId, alarm: AlarmType.NOSPACE } as never }, signal).catch(() => undefined);
    }
    throw serverError('noSpace');
  }

  /** Proposes a membership change whose context carries `requestId`; resolves with the member list. */
  proposeConfChange(requestId: bigint, change: ConfChange, signal?: AbortSignal, options?: { readonly retryDropped?: boolean }): Promise<unknown> {
    return this.proposer.proposeConfChange(requestId, change, signal, options);
  }

  /** MembershipTarget.confChangeReady: raft's own rules for a conf change, plus a cluster state with everything committed applied. */
  confChangeReady(): boolean {
    const raft = this.rawNode.raft;
    return raft.role === 'leader' && this.state.appliedIndex >= raft.raftLog.committed && raft.pendingConfIndex <= raft.raftLog.applied && raft.committedEntryInCurrentTerm();
  }

  linearizableReadBarrier(signal?: AbortSignal): Promise<void> {
    if (this.stopped) return Promise.reject(serverError('stopped'));
    return this.readIndex.wait(signal);
  }

  /** Lease expiry is tracked by the leader alone, so a follower forwards keep-alives to it. */
  renewLease(id: bigint): Promise<number> {
    return this.leaderCalls.renewLease(id);
  }

  leaseTimeToLive(id: bigint, withKeys: boolean): Promise<TimeToLive> {
    return this.leaderCalls.leaseTimeToLive(id, withKeys);
  }

  /** The peer RPCs this member answers for its peers (see proto/conclave/peer.proto). */
  peerHandlers(): Record<string, (request: never) => Promise<unknown>> {
    return this.leaderCalls.peerHandlers();
  }

  members(): readonly MemberInfo[] {
    return this.cluster.memberList();
  }

  /** Checked against the leader's applied cluster state: a follower forwards it (issue 15). */
  addMember(peerUrls: readonly string[], isLearner: boolean, signal?: AbortSignal): Promise<MemberInfo> {
    return this.leaderCalls.addMember(peerUrls, isLearner, signal);
  }

  removeMember(id: bigint, signal?: AbortSignal): Promise<void> {
    return this.membership.remove(id, signal);
  }

  updateMember(id: bigint, peerUrls: readonly string[], signal?: AbortSignal, caller?: CallIdentity): Promise<void> {
    return this.membership.update(id, peerUrls, signal, caller);
  }

  /** Promotion is checked against the leader's view of the learner's log: a follower forwards it. */
  promoteMember(id: bigint, signal?: AbortSignal): Promise<void> {
    return this.leaderCalls.promoteMember(id, signal);
  }

  alarms(): readonly AlarmInfo[] {
    return this.cluster.alarms;
  }

  status(): MemberStatusInfo {
    const status = this.rawNode.status();
    const size = this.state.backendSize();
    return {
      memberId: this.memberId,
      leader: status.softState.leader,
      raftIndex: status.hardState.commit,
      raftTerm: status.hardState.term,
      raftAppliedIndex: this.state.appliedIndex,
      dbSizeBytes: size.totalBytes,
      dbSizeInUseBytes: size.inUseBytes,
      isLearner: this.rawNode.raft.isLearner,
      errors: this.fatalError === undefined ? [] : [String(this.fatalError)],
    };
  }

  /** What the metrics registry reads at scrape time. */
  metricsSource(): MetricsSource {
    return {
      hasLeader: () => this.leaderId() !== 0n,
      isLeader: () => this.isLeader(),
      isLearner: () => this.rawNode.raft.isLearner,
      committedIndex: () => this.rawNode.raft.raftLog.committed,
      appliedIndex: () => this.state.appliedIndex,
      pendingProposals: () => this.proposer.waits.size,
      dbSizeBytes: () => this.state.backendSize().totalBytes,
      dbSizeInUseBytes: () => this.state.backendSize().inUseBytes,
      keysTotal: () => this.store.indexedKeys,
      watchers: () => this.watchable.stats(),
      quotaBackendBytes: () => this.options.quotaBackendBytes,
      activeAlarms: () => [...new Set(this.cluster.alarms.map((a) => a.alarm))],
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
    return this.state.backendSize().totalBytes;
  }

  async moveLeader(target: bigint, signal?: AbortSignal): Promise<void> {
    if (!this.isLeader()) throw serverError('notLeader');
    if (!this.cluster.members.has(target) || this.cluster.members.get(target)!.isLearner) throw serverError('badLeaderTransferee');
    if (target === this.memberId) return;
    this.rawNode.transferLeadership(target);
    this.driver.kick();
    await this.proposer.untilLeader(target, signal);
  }

  backendSnapshot(): AsyncIterable<Uint8Array> {
    return this.state.backendSnapshot();
  }

  /**
   * Rewrites the backend compactly (etcd's Defragment). Calls that arrive while one runs
   * share it, as etcd runs one defragmentation at a time.
   */
  defragment(): Promise<void> {
    if (this.stopped) return Promise.reject(serverError('stopped'));
    this.defragmenting ??= (async () => {
      const before = this.state.backendSize().totalBytes;
      try {
        await this.state.defragment();
        this.options.logger.info('defragmented the backend', { engine: this.options.engine, beforeBytes: before, afterBytes: this.state.backendSize().totalBytes });
      } finally {
        this.defragmenting = undefined;
      }
    })();
    return this.defragmenting;
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
      for (const service of this.services) service.stop();
      await this.driver.stop();
      const stopped = serverError('stopped');
      this.proposer.close(stopped);
      this.readIndex.close(stopped);
      this.watchable.close();
      await this.transport.close();
      await this.defragmenting?.catch(() => undefined);
      this.state.close();
      await this.storage.close();
      this.done.resolve();
    } catch (error) {
      this.done.reject(error);
    } finally {
      this.dataDirLock?.release();
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

export { ServerError };
