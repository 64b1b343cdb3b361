import { Counter, Gauge, Histogram, Registry, exponentialBuckets } from 'prom-client';
import type { GrpcMethodMetrics, GrpcType, MetricsSink, MetricsSource } from './sink.js';
import { GrpcCallCounts } from './grpc-call-counts.js';

/** etcd's alarm types (etcdserverpb.AlarmType) by the names the `alarm` label carries. */
const ALARM_TYPES: ReadonlyArray<readonly [number, string]> = [[1, 'NOSPACE'], [2, 'CORRUPT']];

/**
 * One member's Prometheus metrics in their own prom-client Registry (never the global one:
 * several embedded members may share a process). Names are etcd's where the meaning is the
 * same (so etcd dashboards and alerts work); Conclave's own are prefixed `conclave_`.
 */
export class MemberMetrics implements MetricsSink {
  readonly registry = new Registry();
  private source: MetricsSource | undefined;
  private readonly leaderChanges: Counter;
  private readonly proposalsFailed: Counter;
  private readonly walFsync: Histogram;
  private readonly backendCommit: Histogram;
  private readonly readyBatch: Histogram;
  private readonly peerRoundTrip: Histogram<'To'>;
  private readonly grpcCalls = new GrpcCallCounts();

  constructor() {
    const registers = [this.registry];
    const gauge = (name: string, help: string, read: (s: MetricsSource) => number): void => {
      const source = (): MetricsSource | undefined => this.source;
      new Gauge({
        name, help, registers,
        collect() {
          const s = source();
          if (s !== undefined) this.set(read(s));
        },
      });
    };
    gauge('etcd_server_has_leader', 'Whether or not a leader exists. 1 is existence, 0 is not.', (s) => (s.hasLeader() ? 1 : 0));
    gauge('etcd_server_is_leader', 'Whether or not this member is a leader. 1 if is, 0 otherwise.', (s) => (s.isLeader() ? 1 : 0));
    gauge('etcd_server_is_learner', 'Whether or not this member is a learner. 1 if is, 0 otherwise.', (s) => (s.isLearner() ? 1 : 0));
    gauge('etcd_server_proposals_committed_total', 'The total number of consensus proposals committed.', (s) => s.committedIndex());
    gauge('etcd_server_proposals_applied_total', 'The total number of consensus proposals applied.', (s) => s.appliedIndex());
    gauge('etcd_server_proposals_pending', 'The current number of pending proposals to commit.', (s) => s.pendingProposals());
    gauge('etcd_mvcc_db_total_size_in_bytes', 'Total size of the underlying database physically allocated in bytes.', (s) => s.dbSizeBytes());
    gauge('etcd_mvcc_db_total_size_in_use_in_bytes', 'Total size of the underlying database logically in use in bytes.', (s) => s.dbSizeInUseBytes());
    gauge('etcd_debugging_mvcc_keys_total', 'Total number of keys.', (s) => s.keysTotal());
    gauge('conclave_server_apply_lag_entries', 'Committed raft entries not yet applied on this member.', (s) => Math.max(0, s.committedIndex() - s.appliedIndex()));
    gauge('etcd_server_quota_backend_bytes', 'Current backend storage quota size in bytes.', (s) => s.quotaBackendBytes());
    const source = (): MetricsSource | undefined => this.source;
    new Gauge({
      name: 'conclave_server_alarms', help: 'Whether an alarm of this type is active in the cluster (1) or not (0).', labelNames: ['alarm'], registers,
      collect() {
        const s = source();
        if (s === undefined) return;
        const active = s.activeAlarms();
        // Both types always present, so an alert can match on the value alone.
        for (const [type, alarm] of ALARM_TYPES) this.set({ alarm }, active.includes(type) ? 1 : 0);
      },
    });
    new Gauge({
      name: 'conclave_mvcc_watchers', help: 'Watchers on this member by state (synced, unsynced, victim).', labelNames: ['state'], registers,
      collect() {
        const s = source();
        if (s === undefined) return;
        for (const [state, count] of Object.entries(s.watchers())) this.set({ state }, count);
      },
    });
    this.leaderChanges = new Counter({ name: 'etcd_server_leader_changes_seen_total', help: 'The number of leader changes seen.', registers });
    this.proposalsFailed = new Counter({ name: 'etcd_server_proposals_failed_total', help: 'The total number of failed proposals seen.', registers });
    // etcd's buckets: 1 ms doubling to about 8 s for fsync, 1 ms doubling for backend commits.
    this.walFsync = new Histogram({ name: 'etcd_disk_wal_fsync_duration_seconds', help: 'The latency distributions of fsync called by WAL.', buckets: exponentialBuckets(0.001, 2, 14), registers });
    this.backendCommit = new Histogram({ name: 'etcd_disk_backend_commit_duration_seconds', help: 'The latency distributions of commit called by backend.', buckets: exponentialBuckets(0.001, 2, 14), registers });
    this.readyBatch = new Histogram({ name: 'conclave_server_ready_batch_entries', help: 'Committed entries applied per ready-loop iteration.', buckets: exponentialBuckets(1, 4, 8), registers });
    // etcd's buckets: 0.1 ms doubling to about 0.8 s, by peer id (label `To`).
    this.peerRoundTrip = new Histogram({ name: 'etcd_network_peer_round_trip_time_seconds', help: 'Round-Trip-Time histogram between peers', labelNames: ['To'], buckets: exponentialBuckets(0.0001, 2, 14), registers });
    const grpcCalls = this.grpcCalls;
    new Counter({
      name: 'grpc_server_started_total', help: 'Total number of RPCs started on the server.', labelNames: ['grpc_type', 'grpc_service', 'grpc_method'], registers,
      collect() {
        grpcCalls.publishStarted(this);
      },
    });
    new Counter({
      name: 'grpc_server_handled_total', help: 'Total number of RPCs completed on the server, regardless of success or failure.', labelNames: ['grpc_type', 'grpc_service', 'grpc_method', 'grpc_code'], registers,
      collect() {
        grpcCalls.publishHandled(this);
      },
    });
  }

  /** Connects the scrape-time gauges to the running member. */
  attach(source: MetricsSource): void {
    this.source = source;
  }

  /** The Prometheus text exposition. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  leaderChanged(): void {
    this.leaderChanges.inc();
  }

  proposalFailed(): void {
    this.proposalsFailed.inc();
  }

  walFsyncSeconds(seconds: number): void {
    this.walFsync.observe(seconds);
  }

  backendCommitSeconds(seconds: number): void {
    this.backendCommit.observe(seconds);
  }

  readyBatchEntries(entries: number): void {
    this.readyBatch.observe(entries);
  }

  peerRoundTripSeconds(peerIdHex: string, seconds: number): void {
    this.peerRoundTrip.observe({ To: peerIdHex }, seconds);
  }

  grpcMethod(service: string, method: string, type: GrpcType): GrpcMethodMetrics {
    return this.grpcCalls.method(service, method, type);
  }
}
