/**
 * What the member's parts report into (declared here, where the metrics live, so member.ts,
 * storage and the gRPC layer depend only on this narrow interface). Every method is cheap and
 * synchronous; `noMetrics` ignores everything (embedded members without a registry, tests).
 */
export interface MetricsSink {
  leaderChanged(): void;
  proposalFailed(): void;
  /** One WAL append with its fdatasync. */
  walFsyncSeconds(seconds: number): void;
  /** One backend commit (lmdb transaction) to disk. */
  backendCommitSeconds(seconds: number): void;
  /** Committed entries applied by one Ready of the ready loop. */
  readyBatchEntries(entries: number): void;
  /** A raft message batch to `peerIdHex` was acknowledged this long after it was written. */
  peerRoundTripSeconds(peerIdHex: string, seconds: number): void;
  /** The counters of one gRPC method (looked up once, when the method is registered). */
  grpcMethod(service: string, method: string, type: GrpcType): GrpcMethodMetrics;
}

export interface GrpcMethodMetrics {
  started(): void;
  /** `code`: the gRPC status code number (0 OK). */
  handled(code: number): void;
}

export type GrpcType = 'unary' | 'client_stream' | 'server_stream' | 'bidi_stream';

export const noMetrics: MetricsSink = {
  leaderChanged: () => undefined,
  proposalFailed: () => undefined,
  walFsyncSeconds: () => undefined,
  backendCommitSeconds: () => undefined,
  readyBatchEntries: () => undefined,
  peerRoundTripSeconds: () => undefined,
  grpcMethod: () => ({ started: () => undefined, handled: () => undefined }),
};

/** Values read at scrape time (gauges), from the member. */
export interface MetricsSource {
  hasLeader(): boolean;
  isLeader(): boolean;
  committedIndex(): number;
  appliedIndex(): number;
  pendingProposals(): number;
  dbSizeBytes(): number;
  dbSizeInUseBytes(): number;
  keysTotal(): number;
  watchers(): { synced: number; unsynced: number; victim: number };
  isLearner(): boolean;
  /** The backend quota in bytes (`--quota-backend-bytes`). */
  quotaBackendBytes(): number;
  /** Alarm types active anywhere in the cluster (1 NOSPACE, 2 CORRUPT), as `alarm list` shows them. */
  activeAlarms(): readonly number[];
}
